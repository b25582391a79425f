//! Timestamps as the API and the pages show them.

/// Formats Unix seconds as an RFC 3339 UTC timestamp (`2026-11-22T08:03:20Z`).
pub fn format_timestamp(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// A point in time read from ISO 8601 text: a date (`2026-11-01`, midnight UTC) or a date and
/// time (`2026-11-01T14:02`, `2026-11-01T14:02:05Z`, `2026-11-01 14:02:05+01:00`; without an
/// offset, UTC), as Unix seconds. Whether the text was only a date is returned too (an `until`
/// date means the end of that day).
pub fn parse_timestamp(text: &str) -> Option<(i64, bool)> {
    let text = text.trim();
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = match text.find(['T', 't', ' ']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    let month_days = [
        31,
        if is_leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    let midnight = days_from_civil(year, month, day) * 86_400;
    let Some(time) = time else {
        return Some((midnight, true));
    };
    // The offset: `Z`, `+HH:MM` or `-HH:MM` (or none: UTC).
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (sign, zone) = (&time[i..i + 1], &time[i + 1..]);
        let (hours, minutes) = zone
            .split_once(':')
            .unwrap_or((zone.get(..2)?, zone.get(2..)?));
        if hours.len() != 2 || minutes.len() != 2 {
            return None;
        }
        let (hours, minutes) = (number(hours)?, number(minutes)?);
        if hours > 23 || minutes > 59 {
            return None;
        }
        let seconds = hours * 3600 + minutes * 60;
        (&time[..i], if sign == "+" { seconds } else { -seconds })
    } else {
        (time, 0)
    };
    // Fractions of a second are accepted and dropped.
    let clock = clock
        .split_once(['.', ','])
        .map_or(clock, |(whole, fraction)| {
            if number(fraction).is_some() {
                whole
            } else {
                "x"
            }
        });
    let mut fields = clock.split(':');
    let (hour, minute) = (fields.next()?, fields.next()?);
    let second = fields.next().unwrap_or("00");
    if fields.next().is_some() || hour.len() != 2 || minute.len() != 2 || second.len() != 2 {
        return None;
    }
    let (hour, minute, second) = (number(hour)?, number(minute)?, number(second)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some((
        midnight + hour * 3600 + minute * 60 + second - offset,
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_as_rfc3339_utc() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_timestamp(1_795_334_600), "2026-11-22T08:03:20Z");
    }

    #[test]
    fn iso_8601_dates_and_times_are_read_as_unix_seconds() {
        assert_eq!(parse_timestamp("1970-01-01"), Some((0, true)));
        assert_eq!(parse_timestamp("2000-02-29"), Some((951_782_400, true)));
        assert_eq!(
            parse_timestamp("2026-11-22T08:03:20Z"),
            Some((1_795_334_600, false))
        );
        assert_eq!(
            parse_timestamp("2026-11-22 08:03:20"),
            Some((1_795_334_600, false))
        );
        assert_eq!(
            parse_timestamp("2026-11-22T09:03:20+01:00"),
            Some((1_795_334_600, false))
        );
        assert_eq!(
            parse_timestamp("2026-11-22T08:03:20.250Z"),
            Some((1_795_334_600, false))
        );
        assert_eq!(
            parse_timestamp("2026-11-22T08:03"),
            Some((1_795_334_580, false))
        );
        for bad in [
            "",
            "2026",
            "2026-13-01",
            "2026-02-30",
            "2026-11-22T25:00",
            "yesterday",
            "2026-11-22T08:03:20+1",
            "2026-1-01",
            "+2026-11-01",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }
}
