//! What messages say: minijinja templates in `templates/`, a text and an HTML part each.

use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::domain::{format_timestamp, Role};

/// The templates, compiled into the binary. A name ending in `.html` escapes every value it
/// shows; `.txt` shows them as they are.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "account_exists.txt",
        include_str!("templates/account_exists.txt"),
    ),
    (
        "account_exists.html",
        include_str!("templates/account_exists.html"),
    ),
    (
        "account_provisioned.txt",
        include_str!("templates/account_provisioned.txt"),
    ),
    (
        "account_provisioned.html",
        include_str!("templates/account_provisioned.html"),
    ),
    ("invitation.txt", include_str!("templates/invitation.txt")),
    (
        "recovery_code_used.txt",
        include_str!("templates/recovery_code_used.txt"),
    ),
    (
        "recovery_code_used.html",
        include_str!("templates/recovery_code_used.html"),
    ),
    (
        "two_factor_reset.txt",
        include_str!("templates/two_factor_reset.txt"),
    ),
    (
        "two_factor_reset.html",
        include_str!("templates/two_factor_reset.html"),
    ),
    ("invitation.html", include_str!("templates/invitation.html")),
    (
        "password_reset.txt",
        include_str!("templates/password_reset.txt"),
    ),
    (
        "password_reset.html",
        include_str!("templates/password_reset.html"),
    ),
    (
        "email_verification.txt",
        include_str!("templates/email_verification.txt"),
    ),
    (
        "email_verification.html",
        include_str!("templates/email_verification.html"),
    ),
    (
        "pending_members.txt",
        include_str!("templates/pending_members.txt"),
    ),
    (
        "pending_members.html",
        include_str!("templates/pending_members.html"),
    ),
    (
        "role_granted.txt",
        include_str!("templates/role_granted.txt"),
    ),
    (
        "role_granted.html",
        include_str!("templates/role_granted.html"),
    ),
];

/// A rendered message, before it is addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// An email invitation: who invites whom to what, and the link that accepts it.
pub struct Invitation<'a> {
    pub to: &'a str,
    pub organization: &'a str,
    pub inviter: &'a str,
    pub role: Role,
    pub link: &'a str,
    pub expires_at: i64,
    /// Whether the address has an account already: its holder logs in to accept.
    pub has_account: bool,
}

/// The product, named first in every subject so that the reader knows who writes.
pub const PRODUCT: &str = "Gatehouse";
/// The most characters of an organization's title a subject shows; a longer one is cut with `…`.
pub const SUBJECT_TITLE_CHARS: usize = 60;

impl Invitation<'_> {
    pub fn render(&self) -> Result<Content, String> {
        let organization = displayable(self.organization);
        #[derive(Serialize)]
        struct Context<'a> {
            to: &'a str,
            organization: &'a str,
            inviter: &'a str,
            role: &'a str,
            link: &'a str,
            expires: String,
            has_account: bool,
        }
        let context = Value::from_serialize(Context {
            to: self.to,
            organization: &organization,
            inviter: self.inviter,
            role: self.role.label(),
            link: self.link,
            expires: readable(self.expires_at),
            has_account: self.has_account,
        });
        Ok(Content {
            subject: format!(
                "{PRODUCT}: {} invited you to join {}",
                self.inviter,
                quoted(&organization, SUBJECT_TITLE_CHARS)
            ),
            text: render("invitation.txt", &context)?,
            html: render("invitation.html", &context)?,
        })
    }
}

/// What people typed, without the characters that could make it read as something else: control
/// characters and invisible text-direction ones. New titles cannot hold them; older ones might.
fn displayable(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_control() && !crate::domain::is_direction_control(*c))
        .collect()
}

/// `text` in double quotes, as the name it is rather than words of the sentence around it: a
/// quote or backslash inside is escaped (so the name cannot close the quotes early), and a long
/// one is cut after `max_chars` characters with `…`.
fn quoted(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A password-reset link for the account `to`.
pub struct PasswordReset<'a> {
    pub to: &'a str,
    pub link: &'a str,
    pub expires_at: i64,
}

impl PasswordReset<'_> {
    pub fn render(&self) -> Result<Content, String> {
        render_account_link(
            "password_reset",
            "Reset your Gatehouse password".to_owned(),
            self.to,
            self.link,
            self.expires_at,
        )
    }
}

/// The link that sets the password of an account the identity provider made (SCIM).
pub struct AccountProvisioned<'a> {
    pub to: &'a str,
    pub link: &'a str,
    pub expires_at: i64,
}

impl AccountProvisioned<'_> {
    pub fn render(&self) -> Result<Content, String> {
        render_account_link(
            "account_provisioned",
            "Your Gatehouse account is ready: choose your password".to_owned(),
            self.to,
            self.link,
            self.expires_at,
        )
    }
}

/// A one-time link mailed to the account `to`: the text and HTML parts of template `name`.
fn render_account_link(
    name: &str,
    subject: String,
    to: &str,
    link: &str,
    expires_at: i64,
) -> Result<Content, String> {
    #[derive(Serialize)]
    struct Context<'a> {
        to: &'a str,
        link: &'a str,
        expires: String,
    }
    let context = Value::from_serialize(Context {
        to,
        link,
        expires: readable(expires_at),
    });
    Ok(Content {
        subject,
        text: render(&format!("{name}.txt"), &context)?,
        html: render(&format!("{name}.html"), &context)?,
    })
}

/// An email-verification link for the account `to`.
pub struct EmailVerification<'a> {
    pub to: &'a str,
    pub link: &'a str,
    pub expires_at: i64,
}

impl EmailVerification<'_> {
    pub fn render(&self) -> Result<Content, String> {
        render_account_link(
            "email_verification",
            format!("{PRODUCT}: verify your email address"),
            self.to,
            self.link,
            self.expires_at,
        )
    }
}

/// Someone waiting for a role, as a pending-members notice lists them.
pub struct Waiting<'a> {
    pub email: &'a str,
    /// First and last name, either possibly empty.
    pub name: (&'a str, &'a str),
    pub joined_at: i64,
    pub verified: bool,
}

/// To an Owner or Administrator: who joined `organization` through the invite link and waits.
pub struct PendingMembers<'a> {
    pub organization: &'a str,
    pub people: &'a [Waiting<'a>],
    /// How many more wait than `people` lists.
    pub more: i64,
    pub link: &'a str,
}

impl PendingMembers<'_> {
    pub fn render(&self) -> Result<Content, String> {
        #[derive(Serialize)]
        struct Person {
            who: String,
            joined: String,
            verified: bool,
        }
        #[derive(Serialize)]
        struct Context<'a> {
            organization: &'a str,
            people: Vec<Person>,
            more: i64,
            link: &'a str,
        }
        let organization = displayable(self.organization);
        let people = self
            .people
            .iter()
            .map(|p| {
                let name = displayable(format!("{} {}", p.name.0, p.name.1).trim());
                Person {
                    who: if name.is_empty() {
                        p.email.to_owned()
                    } else {
                        format!("{name} <{}>", p.email)
                    },
                    joined: readable(p.joined_at),
                    verified: p.verified,
                }
            })
            .collect::<Vec<_>>();
        let total = i64::try_from(people.len()).unwrap_or(i64::MAX) + self.more;
        let waiting = if total == 1 {
            "1 person is".to_owned()
        } else {
            format!("{total} people are")
        };
        let context = Value::from_serialize(Context {
            organization: &organization,
            people,
            more: self.more,
            link: self.link,
        });
        Ok(Content {
            subject: format!(
                "{PRODUCT}: {waiting} waiting for a role in {}",
                quoted(&organization, SUBJECT_TITLE_CHARS)
            ),
            text: render("pending_members.txt", &context)?,
            html: render("pending_members.html", &context)?,
        })
    }
}

/// To a member who waited: they have `role` in `organization` now.
pub struct RoleGranted<'a> {
    pub to: &'a str,
    pub organization: &'a str,
    pub role: Role,
    pub link: &'a str,
}

impl RoleGranted<'_> {
    pub fn render(&self) -> Result<Content, String> {
        #[derive(Serialize)]
        struct Context<'a> {
            to: &'a str,
            organization: &'a str,
            role: String,
            link: &'a str,
        }
        let organization = displayable(self.organization);
        let label = self.role.label();
        let article = if label.starts_with(['A', 'E', 'I', 'O', 'U']) {
            "an"
        } else {
            "a"
        };
        let context = Value::from_serialize(Context {
            to: self.to,
            organization: &organization,
            role: format!("{article} {label}"),
            link: self.link,
        });
        Ok(Content {
            subject: format!(
                "{PRODUCT}: you can now use {}",
                quoted(&organization, SUBJECT_TITLE_CHARS)
            ),
            text: render("role_granted.txt", &context)?,
            html: render("role_granted.html", &context)?,
        })
    }
}

/// To an address someone tried to sign up with that already has an account: where to sign in, and
/// where to ask for a new password.
pub struct AccountExists<'a> {
    pub to: &'a str,
    pub link: &'a str,
    pub reset_link: &'a str,
}

impl AccountExists<'_> {
    pub fn render(&self) -> Result<Content, String> {
        #[derive(Serialize)]
        struct Context<'a> {
            to: &'a str,
            link: &'a str,
            reset_link: &'a str,
        }
        let context = Value::from_serialize(Context {
            to: self.to,
            link: self.link,
            reset_link: self.reset_link,
        });
        Ok(Content {
            subject: format!("{PRODUCT}: you already have an account"),
            text: render("account_exists.txt", &context)?,
            html: render("account_exists.html", &context)?,
        })
    }
}

/// To an account one of whose recovery codes was used to sign in at `at`.
pub struct RecoveryCodeUsed<'a> {
    pub to: &'a str,
    pub at: i64,
    /// Codes not used yet.
    pub left: i64,
    /// The Account page; empty when no link may be mailed.
    pub link: &'a str,
}

impl RecoveryCodeUsed<'_> {
    pub fn render(&self) -> Result<Content, String> {
        #[derive(Serialize)]
        struct Context<'a> {
            to: &'a str,
            at: String,
            left: i64,
            link: &'a str,
        }
        let context = Value::from_serialize(Context {
            to: self.to,
            at: readable(self.at),
            left: self.left,
            link: self.link,
        });
        Ok(Content {
            subject: format!("{PRODUCT}: a recovery code was used to sign in"),
            text: render("recovery_code_used.txt", &context)?,
            html: render("recovery_code_used.html", &context)?,
        })
    }
}

/// To a member whose second factors an administrator of `organization` reset.
pub struct TwoFactorReset<'a> {
    pub to: &'a str,
    pub organization: &'a str,
    /// The Account page; empty when no link may be mailed.
    pub link: &'a str,
}

impl TwoFactorReset<'_> {
    pub fn render(&self) -> Result<Content, String> {
        #[derive(Serialize)]
        struct Context<'a> {
            to: &'a str,
            organization: &'a str,
            link: &'a str,
        }
        let organization = displayable(self.organization);
        let context = Value::from_serialize(Context {
            to: self.to,
            organization: &organization,
            link: self.link,
        });
        Ok(Content {
            subject: format!("{PRODUCT}: your two-factor authentication was reset"),
            text: render("two_factor_reset.txt", &context)?,
            html: render("two_factor_reset.html", &context)?,
        })
    }
}

/// A timestamp as people read it: `2026-11-22 08:03:20 UTC`.
fn readable(timestamp: i64) -> String {
    format_timestamp(timestamp)
        .replace('T', " ")
        .replace('Z', " UTC")
}

fn render(name: &str, context: &Value) -> Result<String, String> {
    let environment = environment().as_ref().map_err(Clone::clone)?;
    environment
        .get_template(name)
        .and_then(|template| template.render(context))
        .map_err(|e| format!("cannot render the mail template {name}: {e:#}"))
}

fn environment() -> &'static Result<Environment<'static>, String> {
    static ENVIRONMENT: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        // A misspelt variable is an error, not an empty string in someone's inbox.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_formatter(
            |out, state, value| match (state.auto_escape(), value.as_str()) {
                (AutoEscape::Html, Some(s)) if !value.is_safe() => {
                    Ok(out.write_str(&escape_html(s))?)
                }
                _ => minijinja::escape_formatter(out, state, value),
            },
        );
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| format!("the mail template {name} does not parse: {e:#}"))?;
        }
        Ok(env)
    })
}

/// HTML escaping that leaves `/` alone (minijinja's own writes `&#x2f;`), so links in the HTML
/// part read as they do in the text part.
fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation() -> Invitation<'static> {
        Invitation {
            to: "ada@example.com",
            organization: "Acme <Labs>",
            inviter: "owner@example.com",
            role: Role::Reviewer,
            link: "http://127.0.0.1:3000/user/signup?token=ghi_abc",
            expires_at: 0,
            has_account: false,
        }
    }

    #[test]
    fn an_invitation_to_an_address_with_an_account_asks_to_log_in() {
        let new = invitation().render().unwrap();
        assert!(
            new.text.contains("Create your account here:"),
            "{}",
            new.text
        );
        assert!(!new.text.contains("log in"), "{}", new.text);
        let content = Invitation {
            has_account: true,
            ..invitation()
        }
        .render()
        .unwrap();
        assert!(
            content.text.contains(
                "You already have an account with this address: log in here to accept the invitation:\nhttp://127.0.0.1:3000/user/signup?token=ghi_abc"
            ),
            "{}",
            content.text
        );
        assert!(
            !content.text.contains("Create your account"),
            "{}",
            content.text
        );
        assert!(
            content.html.contains(">Log in to accept</a>"),
            "{}",
            content.html
        );
        assert!(
            !content.html.contains("Create your account"),
            "{}",
            content.html
        );
        assert_eq!(content.subject, new.subject, "the subject is the same");
    }

    #[test]
    fn the_invitation_renders_as_its_snapshots() {
        let content = invitation().render().unwrap();
        insta::assert_snapshot!("invitation_subject", content.subject);
        insta::assert_snapshot!("invitation_text", content.text);
        insta::assert_snapshot!("invitation_html", content.html);
        // Snapshots forgive a missing final newline; a message's parts keep theirs.
        assert!(
            content.text.ends_with("ignore this message.\n") && content.html.ends_with("</html>\n")
        );
    }

    #[test]
    fn the_html_part_escapes_what_people_typed_and_the_text_part_does_not() {
        let content = Invitation {
            inviter: "O'Neil & Co",
            ..invitation()
        }
        .render()
        .unwrap();
        assert!(
            content.html.contains("<strong>Acme &lt;Labs&gt;</strong>"),
            "{}",
            content.html
        );
        assert!(
            content.html.contains("O&#x27;Neil &amp; Co invited you"),
            "{}",
            content.html
        );
        assert!(
            content
                .text
                .contains("O'Neil & Co invited you to join Acme <Labs> as Reviewer."),
            "{}",
            content.text
        );
        assert_eq!(
            content.subject,
            "Gatehouse: O'Neil & Co invited you to join \"Acme <Labs>\""
        );
    }

    #[test]
    fn the_subject_names_the_product_and_quotes_the_title() {
        let subject = |organization: &str| {
            Invitation {
                organization,
                ..invitation()
            }
            .render()
            .unwrap()
            .subject
        };
        assert_eq!(
            subject("Acme Labs"),
            "Gatehouse: owner@example.com invited you to join \"Acme Labs\""
        );
        // A title cannot end the quotes and carry on as the sentence.
        assert_eq!(
            subject("Acme\" - reset your password now \"x"),
            "Gatehouse: owner@example.com invited you to join \"Acme\\\" - reset your password now \\\"x\""
        );
        assert_eq!(
            subject("back\\slash"),
            "Gatehouse: owner@example.com invited you to join \"back\\\\slash\""
        );
        // A long title is cut, inside the quotes.
        let long = subject(&"t".repeat(1000));
        assert!(
            long.ends_with(&format!("\"{}…\"", "t".repeat(SUBJECT_TITLE_CHARS))),
            "{long}"
        );
    }

    #[test]
    fn control_and_direction_characters_of_an_old_title_are_left_out() {
        let content = Invitation {
            organization: "Acme\u{202E}sbaL\r\nBcc: x\u{2066}",
            ..invitation()
        }
        .render()
        .unwrap();
        assert_eq!(
            content.subject,
            "Gatehouse: owner@example.com invited you to join \"AcmesbaLBcc: x\""
        );
        for part in [&content.text, &content.html] {
            assert!(part.contains("AcmesbaLBcc: x"), "{part}");
            assert!(
                !part.contains('\u{202E}') && !part.contains('\u{2066}'),
                "{part}"
            );
        }
    }

    #[test]
    fn links_keep_their_slashes_in_both_parts() {
        let content = invitation().render().unwrap();
        let link = "http://127.0.0.1:3000/user/signup?token=ghi_abc";
        assert!(content.text.contains(&format!("\n{link}\n")));
        assert!(content
            .html
            .contains(&format!("<a href=\"{link}\">{link}</a>")));
    }

    #[test]
    fn the_password_reset_renders_as_its_snapshots() {
        let content = PasswordReset {
            to: "ada@example.com",
            link: "http://127.0.0.1:3000/user/reset-password?token=ghr_abc",
            expires_at: 3600,
        }
        .render()
        .unwrap();
        insta::assert_snapshot!("password_reset_subject", content.subject);
        insta::assert_snapshot!("password_reset_text", content.text);
        insta::assert_snapshot!("password_reset_html", content.html);
        assert!(content.text.ends_with("stays as it is.\n") && content.html.ends_with("</html>\n"));
        let link = "http://127.0.0.1:3000/user/reset-password?token=ghr_abc";
        assert!(content.text.contains(&format!("\n{link}\n")));
        assert!(content
            .html
            .contains(&format!("<a href=\"{link}\">{link}</a>")));
    }

    #[test]
    fn the_email_verification_renders_as_its_snapshots() {
        let link = "http://127.0.0.1:3000/user/verify-email?token=ghv_abc";
        let content = EmailVerification {
            to: "ada@example.com",
            link,
            expires_at: 86400,
        }
        .render()
        .unwrap();
        insta::assert_snapshot!("email_verification_subject", content.subject);
        insta::assert_snapshot!("email_verification_text", content.text);
        insta::assert_snapshot!("email_verification_html", content.html);
        assert!(content.text.contains(&format!("\n{link}\n")));
        assert!(content.html.ends_with("</html>\n"));
    }

    fn waiting() -> [Waiting<'static>; 2] {
        [
            Waiting {
                email: "ada@example.com",
                name: ("Ada", "Lovelace"),
                joined_at: 60,
                verified: true,
            },
            Waiting {
                email: "<b>mallory@example.com",
                name: ("", ""),
                joined_at: 120,
                verified: false,
            },
        ]
    }

    #[test]
    fn the_pending_members_notice_renders_as_its_snapshots() {
        let people = waiting();
        let content = PendingMembers {
            organization: "Acme <Labs>",
            people: &people,
            more: 0,
            link: "http://127.0.0.1:3000/organization?role=NOT_ACTIVATED",
        }
        .render()
        .unwrap();
        insta::assert_snapshot!("pending_members_subject", content.subject);
        insta::assert_snapshot!("pending_members_text", content.text);
        insta::assert_snapshot!("pending_members_html", content.html);
        assert!(
            content.html.contains("&lt;b&gt;mallory@example.com"),
            "{}",
            content.html
        );
        assert!(!content.html.contains("<b>mallory"), "{}", content.html);
    }

    #[test]
    fn the_pending_members_notice_counts_one_person_and_those_it_does_not_list() {
        let people = waiting();
        let one = PendingMembers {
            organization: "Acme",
            people: &people[..1],
            more: 0,
            link: "http://x/organization",
        }
        .render()
        .unwrap();
        assert_eq!(
            one.subject,
            "Gatehouse: 1 person is waiting for a role in \"Acme\""
        );
        assert!(one.text.contains("Someone joined Acme"), "{}", one.text);
        assert!(
            one.text
                .contains("- Ada Lovelace <ada@example.com>, joined 1970-01-01 00:01:00 UTC\n"),
            "{}",
            one.text
        );
        let many = PendingMembers {
            more: 48,
            ..PendingMembers {
                organization: "Acme",
                people: &people,
                more: 0,
                link: "http://x/organization",
            }
        }
        .render()
        .unwrap();
        assert_eq!(
            many.subject,
            "Gatehouse: 50 people are waiting for a role in \"Acme\""
        );
        assert!(many.text.contains("- and 48 more\n"), "{}", many.text);
    }

    #[test]
    fn the_account_exists_notice_renders_as_its_snapshots() {
        let content = AccountExists {
            to: "ada@example.com",
            link: "http://127.0.0.1:3000/user/login",
            reset_link: "http://127.0.0.1:3000/user/forgot-password",
        }
        .render()
        .unwrap();
        insta::assert_snapshot!("account_exists_subject", content.subject);
        insta::assert_snapshot!("account_exists_text", content.text);
        insta::assert_snapshot!("account_exists_html", content.html);
        for part in [&content.text, &content.html] {
            assert!(
                part.contains("http://127.0.0.1:3000/user/login")
                    && part.contains("http://127.0.0.1:3000/user/forgot-password")
                    && !part.contains("token="),
                "{part}"
            );
        }
    }

    #[test]
    fn the_role_granted_notice_renders_as_its_snapshots() {
        let content = RoleGranted {
            to: "ada@example.com",
            organization: "Acme <Labs>",
            role: Role::Annotator,
            link: "http://127.0.0.1:3000/",
        }
        .render()
        .unwrap();
        insta::assert_snapshot!("role_granted_subject", content.subject);
        insta::assert_snapshot!("role_granted_text", content.text);
        insta::assert_snapshot!("role_granted_html", content.html);
        assert!(
            content
                .text
                .contains("You are now an Annotator in Acme <Labs>"),
            "{}",
            content.text
        );
        let reviewer = RoleGranted {
            role: Role::Reviewer,
            organization: "Acme",
            ..RoleGranted {
                to: "ada@example.com",
                organization: "",
                role: Role::Annotator,
                link: "http://127.0.0.1:3000/",
            }
        }
        .render()
        .unwrap();
        assert!(
            reviewer.text.contains("You are now a Reviewer in Acme"),
            "{}",
            reviewer.text
        );
    }

    #[test]
    fn every_template_parses() {
        assert!(environment().is_ok(), "{:?}", environment().as_ref().err());
    }
}
