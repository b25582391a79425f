//! SCIM filters (RFC 7644 section 3.4.2.2): parsed into an expression, which list queries turn
//! into conditions (only what they support) and PATCH paths evaluate on the values of a
//! multi-valued attribute (`members[value eq "…"]`, `emails[type eq "work"]`).

use serde_json::Value;

use super::ScimError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Co => "co",
            Op::Sw => "sw",
            Op::Ew => "ew",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `attribute op value`; the attribute as written (`emails.value`, `userName`).
    Compare {
        attribute: String,
        op: Op,
        value: Value,
    },
    /// `attribute pr`
    Present(String),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// `attribute[filter]`, inside a filter.
    Complex(String, Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn invalid(filter: &str, why: impl std::fmt::Display) -> ScimError {
    ScimError::invalid_filter(format!("The filter {filter:?} cannot be read: {why}."))
}

fn tokens(filter: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some('n') => text.push('\n'),
                            Some('t') => text.push('\t'),
                            Some(other) => text.push(other),
                            None => break,
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => text.push(c),
                    }
                }
                if !closed {
                    return Err(invalid(filter, "a quoted value is not closed"));
                }
                out.push(Token::Text(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

/// The longest filter taken.
const MAX_FILTER: usize = 2048;

pub fn parse(filter: &str) -> Result<Expr, ScimError> {
    if filter.len() > MAX_FILTER {
        return Err(invalid(&filter[..64], "it is longer than 2,048 characters"));
    }
    let tokens = tokens(filter)?;
    let mut parser = Parser {
        filter,
        tokens: &tokens,
        at: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    if parser.at != tokens.len() {
        return Err(invalid(
            filter,
            "something follows the end of the expression",
        ));
    }
    Ok(expr)
}

struct Parser<'a> {
    filter: &'a str,
    tokens: &'a [Token],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Expr, ScimError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ScimError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ScimError> {
        self.depth += 1;
        if self.depth > 32 {
            return Err(invalid(self.filter, "it nests too deeply"));
        }
        let expr = self.unary_inner();
        self.depth -= 1;
        expr
    }

    fn unary_inner(&mut self) -> Result<Expr, ScimError> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        match self.tokens.get(self.at) {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err(invalid(self.filter, "a parenthesis is not closed"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(attribute)) => {
                let attribute = attribute.clone();
                if !is_attribute_path(&attribute) {
                    return Err(invalid(
                        self.filter,
                        format!("{attribute:?} is not an attribute name"),
                    ));
                }
                self.at += 1;
                if self.tokens.get(self.at) == Some(&Token::OpenBracket) {
                    self.at += 1;
                    let inner = self.or()?;
                    if self.tokens.get(self.at) != Some(&Token::CloseBracket) {
                        return Err(invalid(self.filter, "a bracket is not closed"));
                    }
                    self.at += 1;
                    return Ok(Expr::Complex(attribute, Box::new(inner)));
                }
                let Some(Token::Word(op)) = self.tokens.get(self.at) else {
                    return Err(invalid(
                        self.filter,
                        format!("an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) must follow {attribute:?}"),
                    ));
                };
                if op.eq_ignore_ascii_case("pr") {
                    self.at += 1;
                    return Ok(Expr::Present(attribute));
                }
                let Some(op) = Op::parse(op) else {
                    return Err(invalid(
                        self.filter,
                        format!(
                            "{op:?} is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)"
                        ),
                    ));
                };
                self.at += 1;
                let value = match self.tokens.get(self.at) {
                    Some(Token::Text(text)) => Value::String(text.clone()),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
                    Some(Token::Word(w)) => match w.parse::<serde_json::Number>() {
                        Ok(n) => Value::Number(n),
                        Err(_) => {
                            return Err(invalid(
                                self.filter,
                                format!("the value {w:?} must be quoted"),
                            ))
                        }
                    },
                    _ => {
                        return Err(invalid(
                            self.filter,
                            format!("a value must follow {attribute} {}", op.as_str()),
                        ))
                    }
                };
                self.at += 1;
                Ok(Expr::Compare {
                    attribute,
                    op,
                    value,
                })
            }
            _ => Err(invalid(self.filter, "an attribute name is missing")),
        }
    }
}

fn is_attribute_path(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-' | '$'))
}

/// The comparisons of a filter made only of `eq` comparisons joined by `and`, as (attribute,
/// value); `None` for any other filter.
pub fn equalities(expr: &Expr) -> Option<Vec<(&str, &Value)>> {
    match expr {
        Expr::Compare {
            attribute,
            op: Op::Eq,
            value,
        } => Some(vec![(attribute.as_str(), value)]),
        Expr::And(a, b) => {
            let mut all = equalities(a)?;
            all.extend(equalities(b)?);
            Some(all)
        }
        _ => None,
    }
}

/// The comparisons of a list's filter, which must be `eq` comparisons joined by `and`: each as
/// its attribute (lower-cased, without the `schema` URN) and the text compared with. `supported`
/// says, for the refusal, which attributes the list is filtered by.
pub fn comparisons(
    expr: &Expr,
    schema: &str,
    supported: &str,
) -> Result<Vec<(String, String)>, ScimError> {
    let equalities = equalities(expr).ok_or_else(|| {
        ScimError::invalid_filter(format!(
            "This list is filtered by {supported} with eq, joined by and; this filter uses something else."
        ))
    })?;
    equalities
        .into_iter()
        .map(|(attribute, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(ScimError::invalid_filter(format!(
                        "{attribute} is compared with a string."
                    )))
                }
            };
            let attribute = attribute
                .strip_prefix(schema)
                .map(|a| a.trim_start_matches(':'))
                .unwrap_or(attribute);
            Ok((attribute.to_ascii_lowercase(), text))
        })
        .collect()
}

/// The refusal of a filter on an attribute the list is not filtered by.
pub fn unsupported(attribute: &str, supported: &str) -> ScimError {
    ScimError::invalid_filter(format!(
        "This list cannot be filtered by {attribute:?}: it is filtered by {supported}."
    ))
}

/// Whether `element` (one value of a multi-valued attribute) meets `expr`; attribute names are
/// compared without regard to case, and so are strings.
pub fn matches(expr: &Expr, element: &Value) -> bool {
    match expr {
        Expr::Compare {
            attribute,
            op,
            value,
        } => {
            let found = lookup(element, attribute);
            compare(found, *op, value)
        }
        Expr::Present(attribute) => {
            lookup(element, attribute).is_some_and(|v| !v.is_null() && v != &Value::Array(vec![]))
        }
        Expr::And(a, b) => matches(a, element) && matches(b, element),
        Expr::Or(a, b) => matches(a, element) || matches(b, element),
        Expr::Not(a) => !matches(a, element),
        Expr::Complex(..) => false,
    }
}

fn lookup<'v>(element: &'v Value, attribute: &str) -> Option<&'v Value> {
    // A simple value (a member given as a bare id) answers for its `value`.
    if !element.is_object() {
        return attribute.eq_ignore_ascii_case("value").then_some(element);
    }
    attribute.split('.').try_fold(element, |v, part| {
        v.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(part))
            .map(|(_, v)| v)
    })
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn compare(found: Option<&Value>, op: Op, wanted: &Value) -> bool {
    let (Some(found), Some(wanted)) = (found.and_then(text), text(wanted)) else {
        return op == Op::Ne && found.is_none_or(Value::is_null) && !wanted.is_null();
    };
    match op {
        Op::Eq => found == wanted,
        Op::Ne => found != wanted,
        Op::Co => found.contains(&wanted),
        Op::Sw => found.starts_with(&wanted),
        Op::Ew => found.ends_with(&wanted),
        Op::Gt => found > wanted,
        Op::Ge => found >= wanted,
        Op::Lt => found < wanted,
        Op::Le => found <= wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equalities_joined_by_and_are_read_in_any_case() {
        let expr = parse(r#"userName EQ "Jane@Example.com" and externalId eq "00u1""#).unwrap();
        let eq = equalities(&expr).unwrap();
        assert_eq!(eq[0], ("userName", &json!("Jane@Example.com")));
        assert_eq!(eq[1], ("externalId", &json!("00u1")));
    }

    #[test]
    fn other_operators_parse_but_are_not_equalities() {
        assert!(equalities(&parse(r#"userName sw "j""#).unwrap()).is_none());
        assert!(equalities(&parse(r#"a eq "1" or b eq "2""#).unwrap()).is_none());
        assert!(matches!(
            parse("emails[type eq \"work\"]").unwrap(),
            Expr::Complex(..)
        ));
    }

    #[test]
    fn malformed_filters_are_invalid_filter_errors() {
        for bad in [
            r#"userName eq"#,
            r#"userName eq "open"#,
            r#"userName equals "x""#,
            r#"(userName eq "x""#,
            r#"userName eq x"#,
            r#"eq "x""#,
            r#"userName eq "x" extra"#,
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}");
        }
    }

    #[test]
    fn value_filters_match_elements_without_regard_to_case() {
        let f = parse(r#"type eq "WORK""#).unwrap();
        assert!(matches(&f, &json!({"Type": "work", "value": "a@b.c"})));
        assert!(!matches(&f, &json!({"type": "home"})));
        let member = parse(r#"value eq "12""#).unwrap();
        assert!(matches(&member, &json!({"value": "12"})));
        assert!(matches(&member, &json!("12")));
    }
}
