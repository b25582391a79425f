//! Paging and search of the lists the Organization and Activity pages show (members, pending
//! invitations, the audit log): a page and a search are checked here, once, whoever asks (the
//! REST API or the pages), and a page of results knows where it stands in its list.

use serde::{Deserialize, Serialize};

use super::AppError;

/// Which page of a list: its number, from 1, and how many rows it holds, 1 to
/// [`Page::MAX_SIZE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    number: i64,
    size: i64,
}

impl Page {
    /// Most rows a page holds.
    pub const MAX_SIZE: i64 = 100;

    /// Page `number` of `size` rows; an error names `page` or `page_size`.
    pub fn parse(number: i64, size: i64) -> Result<Self, AppError> {
        if number < 1 {
            return Err(AppError::invalid("page", "page starts at 1."));
        }
        if !(1..=Self::MAX_SIZE).contains(&size) {
            return Err(AppError::invalid(
                "page_size",
                format!("page_size must be between 1 and {}.", Self::MAX_SIZE),
            ));
        }
        Ok(Self { number, size })
    }

    pub fn number(self) -> i64 {
        self.number
    }

    pub fn size(self) -> i64 {
        self.size
    }

    /// How many rows the pages before this one hold.
    pub fn offset(self) -> i64 {
        (self.number - 1).saturating_mul(self.size)
    }

    /// This page's `results`, of `count` matching rows in all.
    pub fn of<T>(self, count: i64, results: Vec<T>) -> Paged<T> {
        Paged {
            count,
            page: self.number,
            page_size: self.size,
            results,
        }
    }
}

/// What a list is searched for: trimmed, in lower case (a list matches it without regard to
/// case) and at most [`Search::MAX_CHARS`] characters. An empty search matches every row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search(String);

impl Search {
    /// The longest search: an email address is no longer.
    pub const MAX_CHARS: usize = 254;

    /// `text` as the search given in `field` (which an error names).
    pub fn parse(field: &str, text: &str) -> Result<Self, AppError> {
        let text = text.trim().to_lowercase();
        if text.chars().count() > Self::MAX_CHARS {
            return Err(AppError::invalid(
                field,
                format!("Search for at most {} characters.", Self::MAX_CHARS),
            ));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A page of a list, counted, sorted and paged by the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paged<T> {
    /// How many rows match, on every page.
    pub count: i64,
    /// From 1.
    pub page: i64,
    pub page_size: i64,
    pub results: Vec<T>,
}

impl<T> Paged<T> {
    /// The same page with each result made into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            count: self.count,
            page: self.page,
            page_size: self.page_size,
            results: self.results.into_iter().map(f).collect(),
        }
    }

    /// Where this page stands in its list.
    pub fn place(&self) -> Place {
        let first = (self.page - 1)
            .saturating_mul(self.page_size)
            .saturating_add(1);
        let shown = self.results.len() as i64;
        Place {
            count: self.count,
            rows: (shown > 0).then(|| (first, first.saturating_add(shown - 1))),
            has_previous: self.page > 1,
            has_next: self.page.saturating_mul(self.page_size) < self.count,
        }
    }
}

/// Where a page stands in its list: what "Showing 21–40 of 45" says, and whether there are pages
/// before and after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// How many rows match in all.
    pub count: i64,
    /// The places (from 1) of the page's first and last rows; none on a page past the end.
    pub rows: Option<(i64, i64)>,
    pub has_previous: bool,
    pub has_next: bool,
}

/// A kind of row that the REST API sends pages of: the name and descriptions of the schema of
/// its page in the OpenAPI document (a generic type's schema would be named after its parameter).
#[cfg(feature = "ssr")]
pub trait PagedRow: utoipa::ToSchema {
    /// The schema's name, e.g. `MemberPage`.
    const PAGE_NAME: &'static str;
    /// What a page of these rows is.
    const PAGE_DESCRIPTION: &'static str;
    /// What its `count` counts.
    const COUNT_DESCRIPTION: &'static str;
}

#[cfg(feature = "ssr")]
mod schema {
    use std::borrow::Cow;

    use utoipa::{
        openapi::{
            schema::{ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type},
            Ref, RefOr,
        },
        PartialSchema, ToSchema,
    };

    use super::{Paged, PagedRow};

    fn integer(description: Option<&str>) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .description(description)
    }

    impl<T: PagedRow> PartialSchema for Paged<T> {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .property("count", integer(Some(T::COUNT_DESCRIPTION)))
                .required("count")
                .property("page", integer(None))
                .required("page")
                .property("page_size", integer(None))
                .required("page_size")
                .property(
                    "results",
                    ArrayBuilder::new().items(Ref::from_schema_name(T::name())),
                )
                .required("results")
                .description(Some(T::PAGE_DESCRIPTION))
                .into()
        }
    }

    impl<T: PagedRow> ToSchema for Paged<T> {
        fn name() -> Cow<'static, str> {
            Cow::Borrowed(T::PAGE_NAME)
        }

        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            schemas.push((T::name().into_owned(), T::schema()));
            T::schemas(schemas);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_starts_at_one_and_holds_one_to_a_hundred_rows() {
        let field_of = |e: AppError| match e {
            AppError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field_of(Page::parse(0, 20).unwrap_err()), "page");
        assert_eq!(field_of(Page::parse(1, 0).unwrap_err()), "page_size");
        assert_eq!(field_of(Page::parse(1, 101).unwrap_err()), "page_size");
        assert_eq!(Page::parse(3, 100).unwrap().offset(), 200);
    }

    #[test]
    fn a_search_is_trimmed_lowercase_and_at_most_254_characters() {
        assert_eq!(
            Search::parse("search", "  Ana@X.io ").unwrap().as_str(),
            "ana@x.io"
        );
        assert!(Search::parse("search", " \t").unwrap().is_empty());
        assert!(Search::parse("search", &"a".repeat(254)).is_ok());
        let error = Search::parse("actor", &"a".repeat(255)).unwrap_err();
        assert_eq!(
            error,
            AppError::invalid("actor", "Search for at most 254 characters.")
        );
    }

    #[test]
    fn a_page_knows_which_rows_it_shows_and_whether_others_follow() {
        let page = Page::parse(3, 20).unwrap().of(45, vec![(); 5]);
        assert_eq!(
            page.place(),
            Place {
                count: 45,
                rows: Some((41, 45)),
                has_previous: true,
                has_next: false,
            }
        );
        let first = Page::parse(1, 20).unwrap().of(45, vec![(); 20]).place();
        assert_eq!(
            (first.rows, first.has_previous, first.has_next),
            (Some((1, 20)), false, true)
        );
        let past_the_end = Page::parse(9, 20).unwrap().of(45, Vec::<()>::new()).place();
        assert_eq!(past_the_end.rows, None);
    }
}
