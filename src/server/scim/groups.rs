//! `/Groups`: the identity provider's groups. Their members are Users of the organization; a
//! change to a group's members (or its name, which the mappings name it by) re-decides those
//! members' roles by SCIM's group mappings ([`provision::regroup`]).

use std::collections::BTreeSet;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{json, Map, Value};

use super::{
    filter, meta, ok, parse_id, patch,
    provision::{self, Rules},
    Body, Provider, Resource, ScimError, GROUP_SCHEMA,
};
use crate::domain::Action;
use crate::server::{
    audit::{Actor, Event},
    change::Change,
    db::{
        self,
        scim::{GroupCondition, GroupRecord},
    },
    error::{is_unique_violation, OrInternal},
    AppState,
};

/// The most members one request may name.
const MAX_MEMBERS: usize = 10_000;

#[derive(Debug)]
struct GroupDoc {
    display_name: String,
    external_id: Option<String>,
    members: BTreeSet<i64>,
}

fn member_id(item: &Value) -> Result<i64, ScimError> {
    let raw = match item {
        Value::Object(m) => m
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("value"))
            .map(|(_, v)| v),
        other => Some(other),
    };
    let text = match raw {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(ScimError::invalid_value(
                "Each member must have a \"value\": the id of a User.".into(),
            ))
        }
    };
    text.parse::<i64>().ok().filter(|&n| n > 0).ok_or_else(|| {
        ScimError::invalid_value(format!(
            "members: there is no User with id {text:?} in this organization."
        ))
    })
}

fn parse_doc(body: Map<String, Value>) -> Result<GroupDoc, ScimError> {
    let mut display_name = None;
    let mut external_id = None;
    let mut members = BTreeSet::new();
    for (key, value) in body {
        match key.to_ascii_lowercase().as_str() {
            "schemas" | "id" | "meta" => {}
            "displayname" => match value {
                Value::String(s) => display_name = Some(s),
                _ => {
                    return Err(ScimError::invalid_value(
                        "displayName must be a string.".into(),
                    ))
                }
            },
            "externalid" => match value {
                Value::Null => {}
                Value::String(s) if s.trim().is_empty() => {}
                Value::String(s) if s.chars().count() <= 256 => external_id = Some(s),
                _ => {
                    return Err(ScimError::invalid_value(
                        "externalId must be a string of at most 256 characters.".into(),
                    ))
                }
            },
            "members" => {
                let items = match value {
                    Value::Null => Vec::new(),
                    Value::Array(items) => items,
                    one => vec![one],
                };
                if items.len() > MAX_MEMBERS {
                    return Err(ScimError::invalid_value(
                        "A request may name at most 10,000 members.".into(),
                    ));
                }
                for item in &items {
                    members.insert(member_id(item)?);
                }
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "gatehouse does not keep the Group attribute {key:?}; Groups have displayName, externalId and members."
                )))
            }
        }
    }
    let display_name = display_name.unwrap_or_default();
    let length = display_name.chars().count();
    if display_name.trim().is_empty() || length > 256 || display_name.chars().any(char::is_control)
    {
        return Err(ScimError::invalid_value(
            "displayName is required: the group's name, at most 256 characters (the SCIM role mappings name groups by it).".into(),
        ));
    }
    Ok(GroupDoc {
        display_name,
        external_id,
        members,
    })
}

fn render(provider: &Provider, group: &GroupRecord, members: &[(i64, String)]) -> Value {
    let base = provider.base();
    let mut out = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id.to_string(),
        "displayName": group.display_name,
        "members": members.iter().map(|(id, _)| json!({
            "value": id.to_string(),
            "$ref": format!("{base}/Users/{id}"),
            "type": "User",
        })).collect::<Vec<_>>(),
        "meta": meta("Group", format!("{base}/Groups/{}", group.id), group.created_at, group.updated_at),
    });
    if let Some(external) = &group.external_id {
        out["externalId"] = json!(external);
    }
    out
}

const FILTERED_BY: &str = "displayName, externalId, id and members (members.value)";

/// The identity provider's groups as SCIM lists them.
pub struct Groups;

impl Resource for Groups {
    type Record = GroupRecord;

    const NAME: &'static str = "Group";

    async fn find(
        conn: &mut sqlx::AnyConnection,
        organization_id: i64,
        id: i64,
    ) -> Result<Option<GroupRecord>, ScimError> {
        db::scim::group(conn, organization_id, id)
            .await
            .or_internal("reading a group")
            .map_err(Into::into)
    }

    async fn page(
        conn: &mut sqlx::AnyConnection,
        organization_id: i64,
        filter: Option<&filter::Expr>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<GroupRecord>, i64), ScimError> {
        let mut conditions = Vec::new();
        if let Some(expr) = filter {
            for (attribute, text) in filter::comparisons(expr, GROUP_SCHEMA, FILTERED_BY)? {
                let number = || text.trim().parse().unwrap_or(-1);
                conditions.push(match attribute.as_str() {
                    "displayname" => GroupCondition::DisplayName(text.clone()),
                    "externalid" => GroupCondition::ExternalId(text.clone()),
                    "id" => GroupCondition::Id(number()),
                    "members" | "members.value" => GroupCondition::Member(number()),
                    _ => return Err(filter::unsupported(&attribute, FILTERED_BY)),
                });
            }
        }
        db::scim::groups(conn, organization_id, &conditions, offset, limit)
            .await
            .or_internal("listing groups")
            .map_err(Into::into)
    }

    async fn show(
        conn: &mut sqlx::AnyConnection,
        provider: &Provider,
        group: &GroupRecord,
    ) -> Result<Value, ScimError> {
        let members = db::scim::group_members(&mut *conn, group.id)
            .await
            .or_internal("reading a group's members")?;
        Ok(render(provider, group, &members))
    }
}

/// Checks that every member named is a member of the organization.
async fn check_members(
    change: &mut Change<'_>,
    provider: &Provider,
    members: &BTreeSet<i64>,
) -> Result<(), ScimError> {
    let wanted: Vec<i64> = members.iter().copied().collect();
    let found: BTreeSet<i64> =
        db::scim::members_among(&mut **change.tx(), provider.organization_id, &wanted)
            .await
            .or_internal("finding members")?
            .into_iter()
            .collect();
    match members.difference(&found).next() {
        Some(missing) => Err(ScimError::invalid_value(format!(
            "members: there is no User with id \"{missing}\" in this organization."
        ))),
        None => Ok(()),
    }
}

async fn emails_of(change: &mut Change<'_>, ids: &[i64]) -> Result<Vec<String>, ScimError> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(email) = db::users::email_of(&mut **change.tx(), id)
            .await
            .or_internal("reading an account")?
        {
            out.push(email);
        }
    }
    Ok(out)
}

pub async fn create(
    State(state): State<AppState>,
    provider: Provider,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let doc = parse_doc(body)?;
    let org = provider.organization_id;
    let mut change = Change::to_organization(&state, org).await?;
    check_members(&mut change, &provider, &doc.members).await?;
    let now = change.now();
    let id = match db::scim::insert_group(
        &mut **change.tx(),
        org,
        &doc.display_name,
        doc.external_id.as_deref(),
        now,
    )
    .await
    {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(ScimError::uniqueness(format!(
                "This organization has a Group named {:?} already.",
                doc.display_name
            )))
        }
        Err(e) => return Err(crate::server::error::internal("creating a group", e).into()),
    };
    for &user_id in &doc.members {
        db::scim::add_group_member(&mut **change.tx(), id, user_id)
            .await
            .or_internal("adding a group member")?;
    }
    let members: Vec<i64> = doc.members.iter().copied().collect();
    let emails = emails_of(&mut change, &members).await?;
    let target = change.organization_target(provider.organization_id);
    change.record(
        Event::new(Actor::Scim, Action::ScimGroupCreated, target)
            .details(json!({"group": doc.display_name, "group_id": id, "members": emails}))
            .from(&provider.origin),
    );
    let rules = Rules::of(&mut change, org).await?;
    provision::regroup(
        &mut change,
        &state,
        &provider,
        &rules,
        &members,
        &doc.display_name,
    )
    .await?;
    change.commit().await?;
    tracing::info!(organization_id = org, group_id = id, "SCIM created a group");
    Ok(super::created(
        super::shown::<Groups>(&state, &provider, id).await?,
    ))
}

async fn locked_group<'s>(
    state: &'s AppState,
    provider: &Provider,
    id: &str,
) -> Result<(Change<'s>, GroupRecord), ScimError> {
    let group_id = parse_id(id, "Group")?;
    let mut change = Change::to_organization(state, provider.organization_id).await?;
    let group = db::scim::group(&mut **change.tx(), provider.organization_id, group_id)
        .await
        .or_internal("reading a group")?
        .ok_or_else(|| super::no_such::<Groups>(id))?;
    Ok((change, group))
}

/// Saves `doc` over the group, re-deciding the roles of the members it gained or lost (of all
/// its members when its name changed), and answers with it.
async fn save(
    state: &AppState,
    provider: &Provider,
    mut change: Change<'_>,
    group: GroupRecord,
    doc: GroupDoc,
) -> Result<Response, ScimError> {
    check_members(&mut change, provider, &doc.members).await?;
    let now = change.now();
    let before: BTreeSet<i64> = db::scim::group_members(&mut **change.tx(), group.id)
        .await
        .or_internal("reading a group's members")?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    match db::scim::update_group(
        &mut **change.tx(),
        group.id,
        &doc.display_name,
        doc.external_id.as_deref(),
        now,
    )
    .await
    {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(ScimError::uniqueness(format!(
                "This organization has a Group named {:?} already.",
                doc.display_name
            )))
        }
        Err(e) => return Err(crate::server::error::internal("changing a group", e).into()),
    }
    let added: Vec<i64> = doc.members.difference(&before).copied().collect();
    let removed: Vec<i64> = before.difference(&doc.members).copied().collect();
    for &user_id in &added {
        db::scim::add_group_member(&mut **change.tx(), group.id, user_id)
            .await
            .or_internal("adding a group member")?;
    }
    for &user_id in &removed {
        db::scim::remove_group_member(&mut **change.tx(), group.id, user_id)
            .await
            .or_internal("removing a group member")?;
    }
    let renamed = doc.display_name != group.display_name;
    let changed =
        renamed || doc.external_id != group.external_id || !added.is_empty() || !removed.is_empty();
    if changed {
        let added_emails = emails_of(&mut change, &added).await?;
        let removed_emails = emails_of(&mut change, &removed).await?;
        let mut details = json!({
            "group": doc.display_name,
            "group_id": group.id,
            "added": added_emails,
            "removed": removed_emails,
        });
        if renamed {
            details["renamed_from"] = json!(group.display_name);
        }
        let target = change.organization_target(provider.organization_id);
        change.record(
            Event::new(Actor::Scim, Action::ScimGroupChanged, target)
                .details(details)
                .from(&provider.origin),
        );
        let affected: Vec<i64> = if renamed {
            before.union(&doc.members).copied().collect()
        } else {
            added.iter().chain(&removed).copied().collect()
        };
        let rules = Rules::of(&mut change, provider.organization_id).await?;
        provision::regroup(
            &mut change,
            state,
            provider,
            &rules,
            &affected,
            &doc.display_name,
        )
        .await?;
    }
    change.commit().await?;
    Ok(ok(super::shown::<Groups>(state, provider, group.id).await?))
}

pub async fn replace(
    State(state): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let doc = parse_doc(body)?;
    let (change, group) = locked_group(&state, &provider, &id).await?;
    save(&state, &provider, change, group, doc).await
}

struct GroupShape;

impl patch::Shape for GroupShape {
    fn multi_valued(&self, attribute: &str) -> bool {
        attribute.eq_ignore_ascii_case("members")
    }

    fn read_only(&self, attribute: &str) -> bool {
        ["id", "meta", "schemas"]
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
    let (mut change, group) = locked_group(&state, &provider, &id).await?;
    let members = db::scim::group_members(&mut **change.tx(), group.id)
        .await
        .or_internal("reading a group's members")?;
    let Value::Object(mut doc) = render(&provider, &group, &members) else {
        unreachable!("a Group renders as an object")
    };
    for read_only in ["meta", "schemas", "id"] {
        doc.remove(read_only);
    }
    patch::apply(&mut doc, &operations, &GroupShape)?;
    let doc = parse_doc(doc)?;
    save(&state, &provider, change, group, doc).await
}

pub async fn delete(
    State(state): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let (mut change, group) = locked_group(&state, &provider, &id).await?;
    let members: Vec<i64> = db::scim::group_members(&mut **change.tx(), group.id)
        .await
        .or_internal("reading a group's members")?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    db::scim::delete_group(&mut **change.tx(), group.id)
        .await
        .or_internal("deleting a group")?;
    let target = change.organization_target(provider.organization_id);
    change.record(
        Event::new(Actor::Scim, Action::ScimGroupDeleted, target)
            .details(json!({"group": group.display_name, "group_id": group.id}))
            .from(&provider.origin),
    );
    let rules = Rules::of(&mut change, provider.organization_id).await?;
    provision::regroup(
        &mut change,
        &state,
        &provider,
        &rules,
        &members,
        &group.display_name,
    )
    .await?;
    change.commit().await?;
    tracing::info!(
        organization_id = provider.organization_id,
        group_id = group.id,
        "SCIM deleted a group"
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}
