//! `/Users`: the organization's members as SCIM Users. `userName` is the account's email
//! (lower-cased), `name.givenName`/`familyName` its name, `active` whether it is not Deactivated,
//! `externalId` the provider's id; the other attributes of the User schema and the Enterprise
//! extension are kept as the provider sent them. A PATCH is applied to the User's document and
//! saved as a PUT would save it.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{json, Map, Value};

use super::{
    boolean,
    discovery::{self, Attribute, ENTERPRISE_ATTRIBUTES, USER_ATTRIBUTES},
    filter, meta, ok, parse_id, patch,
    provision::{self, Person, Rules},
    Body, Provider, Resource, ScimError, ENTERPRISE_SCHEMA, USER_SCHEMA,
};
use crate::domain::{Action, EmailAddress, PersonName, Role};
use crate::server::{
    audit::{Actor, Event},
    auth::{api_tokens, single_sign_on::NO_PASSWORD},
    change::Change,
    db::{self, scim::UserCondition, scim::UserRecord},
    error::{is_unique_violation, OrInternal},
    AppState,
};

/// The most bytes of attributes kept for one User.
const MAX_ATTRIBUTES: usize = 16 * 1024;

/// A User as a request gives it, checked.
#[derive(Debug)]
struct UserDoc {
    /// As the provider names them, lower-cased.
    user_name: String,
    /// The account's address: the userName when it is one, else the first address in `emails`
    /// (the primary first), else [`placeholder`].
    email: EmailAddress,
    given_name: PersonName,
    family_name: PersonName,
    /// `None`: not given (the member's state stays as it is).
    active: Option<bool>,
    external_id: Option<String>,
    /// What gatehouse keeps for the provider: the other attributes, by their schema's names.
    attributes: Map<String, Value>,
}

fn unknown(name: &str) -> ScimError {
    ScimError::invalid_value(format!(
        "gatehouse does not keep the User attribute {name:?}; see /Schemas for those it does."
    ))
}

/// A value of `attribute`, checked against its type, with its sub-attributes named as the schema
/// names them.
fn checked(attribute: &Attribute, value: Value, path: &str) -> Result<Value, ScimError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if attribute.multi {
        let items = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        let single = Attribute {
            multi: false,
            ..*attribute
        };
        return items
            .into_iter()
            .map(|item| checked(&single, item, path))
            .filter(|item| !matches!(item, Ok(Value::Null)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    match attribute.kind {
        "complex" => {
            let Value::Object(object) = value else {
                return Err(ScimError::invalid_value(format!(
                    "{path} must be an object."
                )));
            };
            let mut out = Map::new();
            for (key, v) in object {
                let Some(sub) = discovery::find(attribute.sub, &key) else {
                    return Err(ScimError::invalid_value(format!(
                        "{path} has no sub-attribute {key:?}."
                    )));
                };
                let v = checked(sub, v, &format!("{path}.{}", sub.name))?;
                if !v.is_null() {
                    out.insert(sub.name.to_owned(), v);
                }
            }
            Ok(Value::Object(out))
        }
        "boolean" => boolean(path, &value).map(Value::Bool),
        _ => match value {
            Value::String(s) => Ok(Value::String(s)),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            other => Err(ScimError::invalid_value(format!(
                "{path} must be a string, not {other}."
            ))),
        },
    }
}

fn text_or_empty(value: Option<&Value>, path: &str) -> Result<String, ScimError> {
    match value {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ScimError::invalid_value(format!(
            "{path} must be a string, not {other}."
        ))),
    }
}

fn parse_doc(body: Map<String, Value>) -> Result<UserDoc, ScimError> {
    let mut user_name = None;
    let mut active = None;
    let mut external_id = None;
    let mut given = String::new();
    let mut family = String::new();
    let mut attributes = Map::new();
    for (key, value) in body {
        let lower = key.to_ascii_lowercase();
        match lower.as_str() {
            "schemas" | "id" | "meta" | "groups" | "password" => continue,
            "externalid" => {
                let id = text_or_empty(Some(&value), "externalId")?;
                let id = id.trim();
                if id.chars().count() > 256 {
                    return Err(ScimError::invalid_value(
                        "externalId has at most 256 characters.".into(),
                    ));
                }
                external_id = (!id.is_empty()).then(|| id.to_owned());
                continue;
            }
            _ => {}
        }
        if lower.starts_with("urn:") {
            if !lower.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
                return Err(ScimError::invalid_value(format!(
                    "{key} is not a schema this server has (it has the core User schema and the Enterprise User extension)."
                )));
            }
            let Value::Object(inner) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!(
                    "{key} must be an object."
                )));
            };
            let mut out = Map::new();
            for (k, v) in inner {
                if k.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let a = discovery::find(ENTERPRISE_ATTRIBUTES, &k).ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "The Enterprise User extension has no attribute {k:?}."
                    ))
                })?;
                let v = checked(a, v, a.name)?;
                if !v.is_null() {
                    out.insert(a.name.to_owned(), v);
                }
            }
            if !out.is_empty() {
                attributes.insert(ENTERPRISE_SCHEMA.to_owned(), Value::Object(out));
            }
            continue;
        }
        let a = discovery::find(USER_ATTRIBUTES, &key).ok_or_else(|| unknown(&key))?;
        match a.name {
            "userName" => user_name = Some(text_or_empty(Some(&value), "userName")?),
            "active" => {
                if !value.is_null() {
                    let given = boolean("active", &value)?;
                    active = Some(given);
                    attributes.insert("active".into(), Value::Bool(given));
                }
            }
            "name" => {
                let Value::Object(mut name) = checked(a, value, "name")? else {
                    continue;
                };
                given = text_or_empty(name.remove("givenName").as_ref(), "name.givenName")?;
                family = text_or_empty(name.remove("familyName").as_ref(), "name.familyName")?;
                if !name.is_empty() {
                    attributes.insert("name".into(), Value::Object(name));
                }
            }
            name => {
                let v = checked(a, value, name)?;
                if !v.is_null() {
                    attributes.insert(name.to_owned(), v);
                }
            }
        }
    }
    let user_name = user_name.unwrap_or_default().trim().to_lowercase();
    if user_name.is_empty() {
        return Err(ScimError::invalid_value(
            "userName is required: the member's email address.".into(),
        ));
    }
    if user_name.chars().count() > 256 || user_name.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(
            "userName has at most 256 characters and no control characters.".into(),
        ));
    }
    let email = EmailAddress::parse(&user_name)
        .ok()
        .or_else(|| first_address(&attributes))
        .unwrap_or_else(|| placeholder(&user_name));
    let given_name = PersonName::parse("name.givenName", &given)?;
    let family_name = PersonName::parse("name.familyName", &family)?;
    if Value::Object(attributes.clone()).to_string().len() > MAX_ATTRIBUTES {
        return Err(ScimError::invalid_value(
            "The User's attributes take more than 16 KiB; send fewer.".into(),
        ));
    }
    Ok(UserDoc {
        user_name,
        email,
        given_name,
        family_name,
        active,
        external_id,
        attributes,
    })
}

/// The first address among the User's `emails` (its primary one first).
fn first_address(attributes: &Map<String, Value>) -> Option<EmailAddress> {
    let emails = attributes.get("emails")?.as_array()?;
    let primary = |e: &&Value| e["primary"] == Value::Bool(true);
    emails
        .iter()
        .filter(primary)
        .chain(emails.iter().filter(|e| !primary(e)))
        .find_map(|e| EmailAddress::parse(e["value"].as_str()?).ok())
}

/// The domain of the address a User gets when the provider gives none (`.invalid` is reserved:
/// nothing is ever delivered there). Such a member signs in only through single sign-on.
pub const NO_ADDRESS_DOMAIN: &str = "no-address.invalid";

/// An undeliverable address for a User whose userName is not an address and who has no
/// `emails`, derived from the userName (so the same User keeps it).
fn placeholder(user_name: &str) -> EmailAddress {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(&Sha256::digest(user_name.as_bytes())[..12]);
    EmailAddress::parse(&format!("scim-{digest}@{NO_ADDRESS_DOMAIN}"))
        .expect("a hex local part at a fixed domain is an address")
}

fn location(provider: &Provider, user_id: i64) -> String {
    format!("{}/Users/{user_id}", provider.base())
}

/// The User as SCIM shows it.
fn render(provider: &Provider, member: &UserRecord, groups: &[(i64, String)]) -> Value {
    let mut attributes: Map<String, Value> = member
        .attributes
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default();
    let mut schemas = vec![json!(USER_SCHEMA)];
    let enterprise = attributes.remove(ENTERPRISE_SCHEMA);
    if enterprise.is_some() {
        schemas.push(json!(ENTERPRISE_SCHEMA));
    }
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), json!(member.user_id.to_string()));
    if let Some(external) = &member.external_id {
        out.insert("externalId".into(), json!(external));
    }
    out.insert(
        "userName".into(),
        json!(member.user_name.as_deref().unwrap_or(&member.email)),
    );
    let mut name = match attributes.remove("name") {
        Some(Value::Object(name)) => name,
        _ => Map::new(),
    };
    if !member.first_name.is_empty() {
        name.insert("givenName".into(), json!(member.first_name));
    }
    if !member.last_name.is_empty() {
        name.insert("familyName".into(), json!(member.last_name));
    }
    if !name.is_empty() {
        out.insert("name".into(), Value::Object(name));
    }
    // `active`, true to the member's state now, unless the provider manages them and removed
    // it (or never sent it): then it is left out, as the provider left it.
    let active_given = attributes.remove("active").is_some() || member.managed == 0;
    out.extend(attributes);
    if active_given {
        out.insert("active".into(), json!(member.role != Role::Deactivated));
    }
    out.insert(
        "groups".into(),
        groups
            .iter()
            .map(|(id, name)| {
                json!({"value": id.to_string(), "display": name, "$ref": format!("{}/Groups/{id}", provider.base())})
            })
            .collect(),
    );
    if let Some(enterprise) = enterprise {
        out.insert(ENTERPRISE_SCHEMA.into(), enterprise);
    }
    out.insert(
        "meta".into(),
        meta(
            "User",
            location(provider, member.user_id),
            member.created_at,
            member.updated_at,
        ),
    );
    Value::Object(out)
}

const FILTERED_BY: &str = "userName, externalId, emails.value and id";

/// The organization's members as SCIM lists them.
pub struct Users;

impl Resource for Users {
    type Record = UserRecord;

    const NAME: &'static str = "User";

    async fn find(
        conn: &mut sqlx::AnyConnection,
        organization_id: i64,
        user_id: i64,
    ) -> Result<Option<UserRecord>, ScimError> {
        db::scim::user(conn, organization_id, user_id)
            .await
            .or_internal("reading a member")
            .map_err(Into::into)
    }

    async fn page(
        conn: &mut sqlx::AnyConnection,
        organization_id: i64,
        filter: Option<&filter::Expr>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<UserRecord>, i64), ScimError> {
        let mut conditions = Vec::new();
        if let Some(expr) = filter {
            for (attribute, text) in filter::comparisons(expr, USER_SCHEMA, FILTERED_BY)? {
                conditions.push(match attribute.as_str() {
                    "username" => UserCondition::UserName(text.trim().to_lowercase()),
                    "emails.value" | "emails" => UserCondition::Email(text.trim().to_lowercase()),
                    "externalid" => UserCondition::ExternalId(text),
                    // An id that is not one of ours names nobody.
                    "id" => UserCondition::Id(text.trim().parse().unwrap_or(-1)),
                    _ => return Err(filter::unsupported(&attribute, FILTERED_BY)),
                });
            }
        }
        db::scim::users(conn, organization_id, &conditions, offset, limit)
            .await
            .or_internal("listing members")
            .map_err(Into::into)
    }

    async fn show(
        conn: &mut sqlx::AnyConnection,
        provider: &Provider,
        member: &UserRecord,
    ) -> Result<Value, ScimError> {
        let groups = db::scim::group_refs_of(&mut *conn, member.user_id)
            .await
            .or_internal("reading a member's groups")?;
        Ok(render(provider, member, &groups))
    }
}

pub async fn create(
    State(state): State<AppState>,
    provider: Provider,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let doc = parse_doc(body)?;
    let org = provider.organization_id;
    let mut change = Change::to_organization(&state, org).await?;
    let rules = Rules::of(&mut change, org).await?;
    let now = change.now();
    let existing = db::users::find_by_email(&mut **change.tx(), &doc.email)
        .await
        .or_internal("finding a user")?;
    let email = doc.email.as_str();
    let (user_id, new_account, role) = match existing {
        Some(user) => {
            let member = db::scim::user(&mut **change.tx(), org, user.id)
                .await
                .or_internal("reading a member")?;
            match member {
                Some(member) if member.managed == 1 => {
                    return Err(ScimError::uniqueness(format!(
                        "A User with userName {email} exists already (id {}).",
                        member.user_id
                    )))
                }
                // A member already: the provider manages them from now on.
                Some(member) => (user.id, false, member.role),
                None => {
                    if db::memberships::organization_of(&mut **change.tx(), user.id)
                        .await
                        .or_internal("reading a membership")?
                        .is_some()
                    {
                        return Err(ScimError::uniqueness(format!(
                            "{email} belongs to another organization."
                        )));
                    }
                    let person = Person {
                        user_id: user.id,
                        email,
                    };
                    let role = provision::join(
                        &mut change,
                        &state,
                        &provider,
                        &person,
                        rules.default_role,
                    )
                    .await?;
                    (user.id, false, role)
                }
            }
        }
        None => {
            let user_id = match db::users::insert(&mut **change.tx(), &doc.email, NO_PASSWORD, now)
                .await
            {
                Ok(id) => id,
                Err(e) if is_unique_violation(&e) => {
                    return Err(ScimError::uniqueness(format!(
                        "An account with {email} was made meanwhile; send the request again."
                    )))
                }
                Err(e) => return Err(crate::server::error::internal("creating a user", e).into()),
            };
            // The identity provider vouches for the address.
            db::users::mark_verified(&mut **change.tx(), user_id, now)
                .await
                .or_internal("recording a verified address")?;
            api_tokens::replace(change.tx(), &state.keys, user_id, now).await?;
            let person = Person { user_id, email };
            let role = provision::join(&mut change, &state, &provider, &person, rules.default_role)
                .await?;
            (user_id, true, role)
        }
    };
    if new_account || !doc.given_name.as_str().is_empty() || !doc.family_name.as_str().is_empty() {
        db::users::set_name(
            &mut **change.tx(),
            user_id,
            doc.given_name.as_str(),
            doc.family_name.as_str(),
        )
        .await
        .or_internal("saving a name")?;
    }
    keep(&mut change, org, user_id, &doc).await?;
    let person = Person { user_id, email };
    change.record(
        Event::new(Actor::Scim, Action::ScimUserCreated, person.target())
            .details(json!({
                "external_id": doc.external_id,
                "role": role.as_str(),
                "new_account": new_account,
            }))
            .from(&provider.origin),
    );
    match doc.active {
        Some(false) if role == Role::Owner => return Err(owner_stays()),
        Some(false) => deactivate(&mut change, &state, &provider, &person, role).await?,
        _ => {}
    }
    if new_account && !email.ends_with(NO_ADDRESS_DOMAIN) {
        super::token::mail_new_account(&mut change, &state, &provider, org, user_id, email).await?;
    }
    change.commit().await?;
    tracing::info!(user_id, organization_id = org, new_account, role = %role, "SCIM provisioned a member");
    Ok(super::created(
        super::shown::<Users>(&state, &provider, user_id).await?,
    ))
}

fn owner_stays() -> ScimError {
    ScimError::mutability(
        403,
        "The Owner cannot be deactivated or deleted through SCIM; the Owner can transfer ownership first.".into(),
    )
}

/// Stores what gatehouse keeps of the provider's User (its external id and other attributes).
async fn keep(
    change: &mut Change<'_>,
    org: i64,
    user_id: i64,
    doc: &UserDoc,
) -> Result<(), ScimError> {
    let now = change.now();
    let attributes = Value::Object(doc.attributes.clone()).to_string();
    match db::scim::upsert_user(
        &mut **change.tx(),
        org,
        user_id,
        &doc.user_name,
        doc.external_id.as_deref(),
        &attributes,
        now,
    )
    .await
    {
        Ok(()) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(ScimError::uniqueness(format!(
            "Another User of this organization has userName {:?} or externalId {:?}.",
            doc.user_name,
            doc.external_id.as_deref().unwrap_or_default()
        ))),
        Err(e) => Err(crate::server::error::internal("saving a provisioned member", e).into()),
    }
}

async fn deactivate(
    change: &mut Change<'_>,
    state: &AppState,
    provider: &Provider,
    person: &Person<'_>,
    from: Role,
) -> Result<(), ScimError> {
    if from == Role::Deactivated {
        return Ok(());
    }
    provision::set_role(
        change,
        provider,
        &state.keys,
        person,
        from,
        Role::Deactivated,
        json!({"active": false}),
    )
    .await?;
    db::scim::set_role_before_deactivation(&mut **change.tx(), person.user_id, Some(from))
        .await
        .or_internal("remembering a role")?;
    Ok(())
}

/// Saves `doc` over the member's User (a PUT, or a PATCH once applied).
async fn save(
    change: &mut Change<'_>,
    state: &AppState,
    provider: &Provider,
    member: &UserRecord,
    doc: UserDoc,
) -> Result<(), ScimError> {
    let org = provider.organization_id;
    let user_id = member.user_id;
    let mut changed = Vec::new();
    if doc.email.as_str() != member.email {
        if member.role == Role::Owner {
            return Err(ScimError::mutability(
                403,
                "The Owner's userName (their address) cannot be changed through SCIM.".into(),
            ));
        }
        match db::users::set_email(&mut **change.tx(), user_id, &doc.email).await {
            Ok(()) => changed.push("address"),
            Err(e) if is_unique_violation(&e) => {
                return Err(ScimError::uniqueness(format!(
                    "Another account has the address {}.",
                    doc.email
                )))
            }
            Err(e) => return Err(crate::server::error::internal("changing an address", e).into()),
        }
    }
    if doc.given_name.as_str() != member.first_name || doc.family_name.as_str() != member.last_name
    {
        db::users::set_name(
            &mut **change.tx(),
            user_id,
            doc.given_name.as_str(),
            doc.family_name.as_str(),
        )
        .await
        .or_internal("saving a name")?;
        changed.push("name");
    }
    let kept: Map<String, Value> = member
        .attributes
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default();
    if Some(&doc.user_name) != member.user_name.as_ref() && doc.user_name != member.email {
        changed.push("userName");
    }
    if doc.external_id != member.external_id {
        changed.push("externalId");
    }
    let without_active = |m: &Map<String, Value>| {
        let mut m = m.clone();
        m.remove("active");
        m
    };
    if without_active(&doc.attributes) != without_active(&kept) {
        changed.push("attributes");
    }
    if member.managed == 0
        || !changed.is_empty()
        || doc.active.is_some() != kept.contains_key("active")
    {
        keep(change, org, user_id, &doc).await?;
    }
    let person = Person {
        user_id,
        email: doc.email.as_str(),
    };
    if !changed.is_empty() {
        change.record(
            Event::new(Actor::Scim, Action::ScimUserUpdated, person.target())
                .details(json!({"changed": changed}))
                .from(&provider.origin),
        );
    }
    let active = member.role != Role::Deactivated;
    match (active, doc.active) {
        (true, Some(false)) if member.role == Role::Owner => return Err(owner_stays()),
        (true, Some(false)) => deactivate(change, state, provider, &person, member.role).await?,
        (false, Some(true)) => {
            let rules = Rules::of(change, org).await?;
            let groups = db::scim::groups_of(&mut **change.tx(), user_id)
                .await
                .or_internal("reading a member's groups")?;
            let wanted = rules
                .mapped(&groups)
                .or(member.role_before_deactivation)
                .unwrap_or(rules.default_role);
            provision::set_role(
                change,
                provider,
                &state.keys,
                &person,
                Role::Deactivated,
                wanted,
                json!({"active": true, "groups": groups}),
            )
            .await?;
            db::scim::set_role_before_deactivation(&mut **change.tx(), user_id, None)
                .await
                .or_internal("forgetting a role")?;
        }
        _ => {}
    }
    Ok(())
}

/// The member a change to `/Users/{id}` is about, read under the organization's lock.
async fn locked_member<'s>(
    state: &'s AppState,
    provider: &Provider,
    id: &str,
) -> Result<(Change<'s>, UserRecord), ScimError> {
    let user_id = parse_id(id, "User")?;
    let mut change = Change::to_organization(state, provider.organization_id).await?;
    let member = db::scim::user(&mut **change.tx(), provider.organization_id, user_id)
        .await
        .or_internal("reading a member")?
        .ok_or_else(|| super::no_such::<Users>(id))?;
    Ok((change, member))
}

async fn saved_and_shown(
    state: &AppState,
    provider: &Provider,
    mut change: Change<'_>,
    member: UserRecord,
    doc: UserDoc,
) -> Result<Response, ScimError> {
    let user_id = member.user_id;
    save(&mut change, state, provider, &member, doc).await?;
    change.commit().await?;
    Ok(ok(super::shown::<Users>(state, provider, user_id).await?))
}

pub async fn replace(
    State(state): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let doc = parse_doc(body)?;
    let (change, member) = locked_member(&state, &provider, &id).await?;
    saved_and_shown(&state, &provider, change, member, doc).await
}

struct UserShape;

impl patch::Shape for UserShape {
    fn multi_valued(&self, attribute: &str) -> bool {
        discovery::find(USER_ATTRIBUTES, attribute).is_some_and(|a| a.multi)
    }

    fn read_only(&self, attribute: &str) -> bool {
        ["id", "meta", "groups", "schemas"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }
}

pub async fn patch(
    State(state): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let operations = patch::parse(&Value::Object(body))?;
    let (mut change, member) = locked_member(&state, &provider, &id).await?;
    let groups = db::scim::group_refs_of(&mut **change.tx(), member.user_id)
        .await
        .or_internal("reading a member's groups")?;
    let Value::Object(mut doc) = render(&provider, &member, &groups) else {
        unreachable!("a User renders as an object")
    };
    for read_only in ["meta", "groups", "schemas", "id"] {
        doc.remove(read_only);
    }
    patch::apply(&mut doc, &operations, &UserShape)?;
    let doc = parse_doc(doc)?;
    saved_and_shown(&state, &provider, change, member, doc).await
}

pub async fn delete(
    State(state): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let (mut change, member) = locked_member(&state, &provider, &id).await?;
    if member.role == Role::Owner {
        return Err(owner_stays());
    }
    let org = provider.organization_id;
    db::memberships::delete(&mut **change.tx(), org, member.user_id)
        .await
        .or_internal("removing a member")?
        .ok_or_else(|| super::no_such::<Users>(&id))?;
    let now = change.now();
    api_tokens::revoke_credentials(change.tx(), &state.keys, member.user_id, now).await?;
    let person = Person {
        user_id: member.user_id,
        email: &member.email,
    };
    change.record(
        Event::new(Actor::Scim, Action::MemberRemoved, person.target())
            .details(json!({"role": member.role.as_str(), "external_id": member.external_id}))
            .from(&provider.origin),
    );
    change.commit().await?;
    tracing::info!(
        user_id = member.user_id,
        organization_id = org,
        "SCIM removed a member"
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}
