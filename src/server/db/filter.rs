//! The filtered lists that pages show a page at a time (members, open invitations, the audit
//! log): a `WHERE` clause built from the filters given, and the statements such a list runs,
//! counting what matches and reading a page of it.

use sqlx::{
    any::{AnyArguments, AnyRow},
    AnyExecutor, AnyPool, Arguments, FromRow,
};

use crate::domain::{Page, Paged, Role, Search};

/// The value of a parameter of [`Conditions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Integer(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Integer(n)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<Role> for Value {
    fn from(role: Role) -> Self {
        Value::Text(role.as_str().to_owned())
    }
}

/// The `LIKE` pattern (escaped with `\`) that matches text containing `search`; none for an
/// empty search, which every row matches.
pub fn containing(search: &Search) -> Option<Value> {
    (!search.is_empty()).then(|| {
        let escaped = search
            .as_str()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        Value::Text(format!("%{escaped}%"))
    })
}

/// A `WHERE` clause built one condition at a time, and the values of its parameters in the
/// order they are numbered (`$1`, `$2`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conditions {
    sql: String,
    values: Vec<Value>,
}

impl Conditions {
    /// The rows that meet `condition`, in which `$?` stands for `value`.
    pub fn new(condition: &str, value: impl Into<Value>) -> Self {
        Self {
            sql: String::new(),
            values: Vec::new(),
        }
        .and(condition, value)
    }

    /// Those of them that meet `condition` too, in which `$?` (as often as it needs) stands for
    /// `value`.
    pub fn and(mut self, condition: &str, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        let param = format!("${}", self.values.len());
        self.and_sql(&condition.replace("$?", &param))
    }

    /// Those that meet `condition` when there is a value for it (all of them otherwise).
    pub fn and_given<T: Into<Value>>(self, condition: &str, value: Option<T>) -> Self {
        match value {
            Some(value) => self.and(condition, value),
            None => self,
        }
    }

    /// Those that meet a condition without parameters.
    pub fn and_sql(mut self, condition: &str) -> Self {
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(condition);
        self
    }

    fn arguments(&self, extra: &[i64]) -> Result<AnyArguments<'_>, sqlx::Error> {
        let mut arguments = AnyArguments::default();
        for value in &self.values {
            match value {
                Value::Integer(n) => arguments.add(*n),
                Value::Text(text) => arguments.add(text.as_str()),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        for n in extra {
            arguments.add(*n).map_err(sqlx::Error::Encode)?;
        }
        Ok(arguments)
    }

    /// How many rows of `from` (a table, or tables joined) meet the conditions.
    pub async fn count<'e>(
        &self,
        ex: impl AnyExecutor<'e>,
        from: &str,
    ) -> Result<i64, sqlx::Error> {
        let sql = format!("SELECT COUNT(*) FROM {from} WHERE {}", self.sql);
        sqlx::query_scalar_with(&sql, self.arguments(&[])?)
            .fetch_one(ex)
            .await
    }

    /// `page` of the rows that `select` (up to its `FROM`) reads and that meet the conditions, in
    /// `order`, and how many rows of `count_from` meet them in all.
    pub async fn page<R: Row>(
        &self,
        pool: &AnyPool,
        count_from: &str,
        select: &str,
        order: &str,
        page: Page,
    ) -> Result<Paged<R>, sqlx::Error> {
        let count = self.count(pool, count_from).await?;
        let results = self
            .rows(pool, select, order, page.size(), Some(page.offset()))
            .await?;
        Ok(page.of(count, results))
    }

    /// At most `limit` of the rows that `select` (up to its `FROM`) reads and that meet the
    /// conditions, in `order`, after the first `offset`.
    pub async fn rows<'e, R: Row>(
        &self,
        ex: impl AnyExecutor<'e>,
        select: &str,
        order: &str,
        limit: i64,
        offset: Option<i64>,
    ) -> Result<Vec<R>, sqlx::Error> {
        let n = self.values.len();
        let (paging, extra) = match offset {
            None => (format!("LIMIT ${}", n + 1), vec![limit]),
            Some(offset) => (
                format!("LIMIT ${} OFFSET ${}", n + 1, n + 2),
                vec![limit, offset],
            ),
        };
        let sql = format!("{select} WHERE {} ORDER BY {order} {paging}", self.sql);
        sqlx::query_as_with(&sql, self.arguments(&extra)?)
            .fetch_all(ex)
            .await
    }
}

/// A row a list is read into.
pub trait Row: for<'r> FromRow<'r, AnyRow> + Send + Unpin {}

impl<R: for<'r> FromRow<'r, AnyRow> + Send + Unpin> Row for R {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_number_their_parameters_in_order() {
        let search = Search::parse("search", "ana").unwrap();
        let c = Conditions::new("m.organization_id = $?", 7)
            .and_given("m.role = $?", None::<Role>)
            .and_sql("m.role <> 'OWNER'")
            .and_given("(a LIKE $? OR b LIKE $?)", containing(&search));
        assert_eq!(
            c.sql,
            "m.organization_id = $1 AND m.role <> 'OWNER' AND (a LIKE $2 OR b LIKE $2)"
        );
        assert_eq!(
            c.values,
            vec![Value::Integer(7), Value::Text("%ana%".into())]
        );
    }

    #[test]
    fn a_search_matches_percent_underscore_and_backslash_as_themselves() {
        let search = Search::parse("search", r"50%_a\b").unwrap();
        assert_eq!(
            containing(&search),
            Some(Value::Text(r"%50\%\_a\\b%".into()))
        );
        assert_eq!(containing(&Search::default()), None);
    }
}
