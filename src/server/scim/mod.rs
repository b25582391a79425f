//! SCIM 2.0 provisioning (SPEC section 11; RFC 7643 and 7644) under `/scim/v2`: the
//! organization's identity provider creates, changes, deactivates and removes members, and
//! groups whose membership decides their roles through SCIM's own mappings.
//!
//! Every request carries the organization's SCIM token (`Authorization: Bearer ghs_…`), which
//! names the organization ([`Provider`]); every answer, errors included, is SCIM JSON
//! (`application/scim+json`). Each change is one unit of work under the organization's lock
//! ([`provision`]), logged with the actor `scim`.

mod discovery;
mod filter;
mod groups;
mod patch;
mod provision;
pub mod token;
mod users;

use axum::{
    extract::{FromRequest, FromRequestParts, Query, Request},
    http::{header, request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{any, get, post, MethodRouter},
    Router,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{auth::secrets, db, error::OrInternal, origin::RequestOrigin, AppState};
use crate::domain::AppError;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Where the SCIM endpoints are.
pub const BASE_PATH: &str = "/scim/v2";
/// The most resources one page of a list holds.
pub const MAX_COUNT: i64 = 100;
const CONTENT_TYPE: &str = "application/scim+json";

pub fn routes() -> Router<AppState> {
    fn methods(router: MethodRouter<AppState>) -> MethodRouter<AppState> {
        router.fallback(method_not_allowed)
    }
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            methods(get(discovery::service_provider_config)),
        )
        .route(
            "/scim/v2/ResourceTypes",
            methods(get(discovery::resource_types_list)),
        )
        .route(
            "/scim/v2/ResourceTypes/{id}",
            methods(get(discovery::resource_type)),
        )
        .route("/scim/v2/Schemas", methods(get(discovery::schemas_list)))
        .route(
            "/scim/v2/Schemas/{id}",
            methods(get(discovery::schema_by_id)),
        )
        .route(
            "/scim/v2/Users",
            methods(get(list::<users::Users>).post(users::create)),
        )
        .route(
            "/scim/v2/Users/.search",
            methods(post(search::<users::Users>)),
        )
        .route(
            "/scim/v2/Users/{id}",
            methods(
                get(read::<users::Users>)
                    .put(users::replace)
                    .patch(users::patch)
                    .delete(users::delete),
            ),
        )
        .route(
            "/scim/v2/Groups",
            methods(get(list::<groups::Groups>).post(groups::create)),
        )
        .route(
            "/scim/v2/Groups/.search",
            methods(post(search::<groups::Groups>)),
        )
        .route("/scim/v2/.search", methods(post(search_everything)))
        .route(
            "/scim/v2/Groups/{id}",
            methods(
                get(read::<groups::Groups>)
                    .put(groups::replace)
                    .patch(groups::patch)
                    .delete(groups::delete),
            ),
        )
        .route("/scim/v2", any(not_found))
        .route("/scim/v2/", any(not_found))
        .route("/scim/v2/{*rest}", any(not_found))
}

/// An error as SCIM sends it (RFC 7644 section 3.12).
#[derive(Debug)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    retry_after: Option<u64>,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: String) -> Self {
        Self {
            status,
            scim_type,
            detail,
            retry_after: None,
        }
    }

    pub fn invalid_filter(detail: String) -> Self {
        Self::new(400, Some("invalidFilter"), detail)
    }

    pub fn invalid_value(detail: String) -> Self {
        Self::new(400, Some("invalidValue"), detail)
    }

    pub fn not_found(detail: String) -> Self {
        Self::new(404, None, detail)
    }

    pub fn uniqueness(detail: String) -> Self {
        Self::new(409, Some("uniqueness"), detail)
    }

    pub fn mutability(status: u16, detail: String) -> Self {
        Self::new(status, Some("mutability"), detail)
    }
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        let status = e.status_code();
        let scim_type = match &e {
            AppError::Invalid { .. } => Some("invalidValue"),
            AppError::BadRequest(_) => Some("invalidSyntax"),
            _ => None,
        };
        let detail = match &e {
            AppError::Invalid { field, message } if !field.is_empty() => {
                format!("{field}: {message}")
            }
            _ => e.to_string(),
        };
        Self {
            retry_after: e.retry_after(),
            ..Self::new(status, scim_type, detail)
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = respond(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"SCIM\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

fn respond(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// `200` with a SCIM body.
pub fn ok(body: Value) -> Response {
    respond(StatusCode::OK, &body)
}

/// `201` with the new resource and its `Location`.
pub fn created(body: Value) -> Response {
    let location = body["meta"]["location"].as_str().map(str::to_owned);
    let mut response = respond(StatusCode::CREATED, &body);
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

pub fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

async fn not_found() -> ScimError {
    ScimError::not_found(
        "There is no such SCIM endpoint: there are /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas under /scim/v2."
            .into(),
    )
}

async fn method_not_allowed() -> ScimError {
    ScimError::new(
        405,
        None,
        "This endpoint does not take that method (resources take GET, PUT, PATCH and DELETE; lists take GET and POST).".into(),
    )
}

const UNAUTHORIZED: &str = "Send the organization's SCIM token as Authorization: Bearer ghs_…; the Owner makes it on the organization's single sign-on page.";

/// The identity provider of an organization: a request with that organization's live SCIM token.
pub struct Provider {
    pub organization_id: i64,
    pub origin: RequestOrigin,
}

impl Provider {
    /// The SCIM base address, as the provider reached it.
    pub fn base(&self) -> String {
        format!("{}{BASE_PATH}", self.origin.public)
    }
}

impl FromRequestParts<AppState> for Provider {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let refused = || ScimError::new(401, None, UNAUTHORIZED.into());
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(refused)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or_else(refused)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer")
            || !token.starts_with(secrets::SCIM_TOKEN_PREFIX)
            || token.len() > 200
        {
            return Err(refused());
        }
        let found = db::scim::token_by_hash(state.db.pool(), &secrets::hash(token))
            .await
            .or_internal("finding a SCIM token")?
            .ok_or_else(refused)?;
        let now = state.now();
        if found.last_used_at.is_none_or(|at| at < now - 60) {
            db::scim::touch_token(state.db.pool(), found.id, now)
                .await
                .or_internal("recording a SCIM token's use")?;
        }
        let origin = RequestOrigin::of(state, parts)?;
        let span = tracing::Span::current();
        span.record("organization_id", found.organization_id);
        span.record("via", "scim");
        Ok(Self {
            organization_id: found.organization_id,
            origin,
        })
    }
}

/// A SCIM request body: a JSON object, sent as `application/scim+json` or `application/json`.
pub struct Body(pub Map<String, Value>);

impl FromRequest<AppState> for Body {
    type Rejection = ScimError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ScimError> {
        let json_like = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            });
        if json_like == Some(false) {
            return Err(ScimError::new(
                415,
                None,
                "Send the body as application/scim+json (or application/json).".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ScimError::new(
                        413,
                        None,
                        "The request body is too large (at most 256 KiB).".into(),
                    )
                } else {
                    ScimError::new(
                        400,
                        Some("invalidSyntax"),
                        format!("The request body cannot be read: {e}"),
                    )
                }
            })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ScimError::new(
                400,
                Some("invalidSyntax"),
                "The body must be a JSON object.".into(),
            )),
            Err(e) => Err(ScimError::new(
                400,
                Some("invalidSyntax"),
                format!("The body is not valid JSON: {e}."),
            )),
        }
    }
}

/// A list request's query: `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    filter: Option<String>,
    #[serde(rename = "startIndex")]
    start_index: Option<String>,
    count: Option<String>,
    #[serde(flatten)]
    projection: Projection,
}

/// Which attributes to answer with (`attributes`, `excludedAttributes`).
#[derive(Debug, Default, Deserialize)]
pub struct Projection {
    attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
}

/// The query of a list or read; a malformed one is a SCIM error, not axum's text.
pub struct ScimQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for ScimQuery<T> {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Self(q))
            .map_err(|e| {
                ScimError::new(
                    400,
                    Some("invalidSyntax"),
                    format!("The query cannot be read: {}", e.body_text()),
                )
            })
    }
}

/// Where a page starts (1-based) and how many it holds.
pub struct Paging {
    pub start_index: i64,
    pub count: i64,
}

impl ListQuery {
    /// A SearchRequest (`POST …/.search`, RFC 7644 section 3.4.3) as the query it stands for.
    pub fn from_search(body: &Map<String, Value>) -> Result<Self, ScimError> {
        let get = |name: &str| {
            body.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(_) => Err(ScimError::new(
                    400,
                    Some("invalidSyntax"),
                    format!("{name} must be a string, a number or a list of strings."),
                )),
            }
        };
        Ok(Self {
            filter: text("filter")?,
            start_index: text("startIndex")?,
            count: text("count")?,
            projection: Projection {
                attributes: text("attributes")?,
                excluded_attributes: text("excludedAttributes")?,
            },
        })
    }

    pub fn paging(&self) -> Result<Paging, ScimError> {
        let number =
            |name: &str, v: &Option<String>, default: i64| match v.as_deref().map(str::trim) {
                None | Some("") => Ok(default),
                Some(v) => v.parse::<i64>().map_err(|_| {
                    ScimError::invalid_value(format!("{name} must be a whole number, not {v:?}."))
                }),
            };
        Ok(Paging {
            start_index: number("startIndex", &self.start_index, 1)?.max(1),
            count: number("count", &self.count, MAX_COUNT)?.clamp(0, MAX_COUNT),
        })
    }

    pub fn filter(&self) -> Result<Option<filter::Expr>, ScimError> {
        match self.filter.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(f) => filter::parse(f).map(Some),
        }
    }
}

impl Projection {
    /// Keeps the attributes asked for (or drops those excluded); `id`, `schemas` and `meta` stay.
    pub fn apply(&self, mut resource: Value) -> Value {
        let names = |list: &Option<String>| -> Option<Vec<String>> {
            list.as_deref().map(|l| {
                l.split(',')
                    .map(|a| {
                        let a = a.trim();
                        // `name.givenName` keeps `name`; a URN-qualified core attribute keeps it.
                        let a = a
                            .strip_prefix(USER_SCHEMA)
                            .or_else(|| a.strip_prefix(GROUP_SCHEMA))
                            .map(|rest| rest.trim_start_matches(':'))
                            .unwrap_or(a);
                        if a.to_ascii_lowercase().starts_with("urn:") {
                            a.to_ascii_lowercase()
                        } else {
                            a.split('.').next().unwrap_or_default().to_ascii_lowercase()
                        }
                    })
                    .filter(|a| !a.is_empty())
                    .collect()
            })
        };
        let Some(object) = resource.as_object_mut() else {
            return resource;
        };
        let always = |k: &str| {
            ["id", "schemas", "meta"]
                .iter()
                .any(|a| a.eq_ignore_ascii_case(k))
        };
        if let Some(keep) = names(&self.attributes) {
            object.retain(|k, _| {
                always(k)
                    || keep.iter().any(|n| {
                        n == &k.to_ascii_lowercase()
                            || n.starts_with(&format!("{}:", k.to_ascii_lowercase()))
                    })
            });
        } else if let Some(drop) = names(&self.excluded_attributes) {
            object.retain(|k, _| always(k) || !drop.contains(&k.to_ascii_lowercase()));
        }
        resource
    }
}

/// What reading a resource type takes: finding one by id, reading a page of those a filter
/// selects, and showing one.
pub trait Resource: Send + Sync + 'static {
    type Record: Send + Sync;

    /// What it is called in messages (`User`, `Group`).
    const NAME: &'static str;

    /// The organization's one with this id.
    fn find(
        conn: &mut sqlx::AnyConnection,
        organization_id: i64,
        id: i64,
    ) -> impl std::future::Future<Output = Result<Option<Self::Record>, ScimError>> + Send;

    /// The records `filter` selects, `limit` after the first `offset`, and how many it selects.
    fn page(
        conn: &mut sqlx::AnyConnection,
        organization_id: i64,
        filter: Option<&filter::Expr>,
        offset: i64,
        limit: i64,
    ) -> impl std::future::Future<Output = Result<(Vec<Self::Record>, i64), ScimError>> + Send;

    /// One record as SCIM shows it.
    fn show(
        conn: &mut sqlx::AnyConnection,
        provider: &Provider,
        record: &Self::Record,
    ) -> impl std::future::Future<Output = Result<Value, ScimError>> + Send;
}

/// The answer when the organization has no `R` with this id.
pub fn no_such<R: Resource>(id: &str) -> ScimError {
    ScimError::not_found(format!(
        "There is no {} with id {id:?} in this organization.",
        R::NAME
    ))
}

/// The `R` with this id as SCIM shows it, read on a connection of its own (after the change that
/// wrote it has committed).
pub async fn shown<R: Resource>(
    state: &AppState,
    provider: &Provider,
    id: i64,
) -> Result<Value, ScimError> {
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .or_internal("reading a resource")?;
    let record = R::find(&mut conn, provider.organization_id, id)
        .await?
        .ok_or_else(|| no_such::<R>(&id.to_string()))?;
    R::show(&mut conn, provider, &record).await
}

/// `GET /Users/{id}`, `GET /Groups/{id}`.
async fn read<R: Resource>(
    axum::extract::State(state): axum::extract::State<AppState>,
    provider: Provider,
    axum::extract::Path(id): axum::extract::Path<String>,
    ScimQuery(projection): ScimQuery<Projection>,
) -> Result<Response, ScimError> {
    let id = parse_id(&id, R::NAME)?;
    Ok(ok(
        projection.apply(shown::<R>(&state, &provider, id).await?)
    ))
}

/// `GET /Users`, `GET /Groups`.
async fn list<L: Resource>(
    axum::extract::State(state): axum::extract::State<AppState>,
    provider: Provider,
    ScimQuery(query): ScimQuery<ListQuery>,
) -> Result<Response, ScimError> {
    listed::<L>(&state, &provider, &query).await
}

/// `POST /Users/.search`, `POST /Groups/.search`: a list asked for in a body.
async fn search<L: Resource>(
    axum::extract::State(state): axum::extract::State<AppState>,
    provider: Provider,
    Body(body): Body,
) -> Result<Response, ScimError> {
    listed::<L>(&state, &provider, &ListQuery::from_search(&body)?).await
}

/// `POST /.search` at the root: Users, then Groups, as one list (RFC 7644 section 3.4.3). A
/// filter on attributes one type does not have selects none of that type.
async fn search_everything(
    axum::extract::State(state): axum::extract::State<AppState>,
    provider: Provider,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let query = ListQuery::from_search(&body)?;
    let paging = query.paging()?;
    let filter = query.filter()?;
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .or_internal("reading a list")?;
    // A type the filter cannot select from contributes none.
    let selectable = |page: Result<(Vec<Value>, i64), ScimError>| match page {
        Ok((shown, total)) => Ok((shown, Some(total))),
        Err(e) if e.scim_type == Some("invalidFilter") => Ok((Vec::new(), None)),
        Err(e) => Err(e),
    };
    let offset = paging.start_index - 1;
    let (mut resources, users) = selectable(
        shown_page::<users::Users>(&mut conn, &provider, filter.as_ref(), offset, paging.count)
            .await,
    )?;
    let room = paging.count - resources.len() as i64;
    let (groups_shown, groups) = selectable(
        shown_page::<groups::Groups>(
            &mut conn,
            &provider,
            filter.as_ref(),
            (offset - users.unwrap_or(0)).max(0),
            room,
        )
        .await,
    )?;
    if users.is_none() && groups.is_none() {
        return Err(ScimError::invalid_filter(
            "Neither Users nor Groups can be filtered that way.".into(),
        ));
    }
    resources.extend(groups_shown);
    let resources = resources
        .into_iter()
        .map(|r| query.projection.apply(r))
        .collect();
    let total = users.unwrap_or(0) + groups.unwrap_or(0);
    Ok(ok(list_response(resources, total, paging.start_index)))
}

/// A page of `L` as SCIM shows it, and how many the filter selects in all.
async fn shown_page<L: Resource>(
    conn: &mut sqlx::AnyConnection,
    provider: &Provider,
    filter: Option<&filter::Expr>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Value>, i64), ScimError> {
    let (records, total) =
        L::page(conn, provider.organization_id, filter, offset, limit.max(0)).await?;
    let mut shown = Vec::with_capacity(records.len());
    for record in &records {
        shown.push(L::show(conn, provider, record).await?);
    }
    Ok((shown, total))
}

async fn listed<L: Resource>(
    state: &AppState,
    provider: &Provider,
    query: &ListQuery,
) -> Result<Response, ScimError> {
    let paging = query.paging()?;
    let filter = query.filter()?;
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .or_internal("reading a list")?;
    let (shown, total) = shown_page::<L>(
        &mut conn,
        provider,
        filter.as_ref(),
        paging.start_index - 1,
        paging.count,
    )
    .await?;
    let resources = shown
        .into_iter()
        .map(|r| query.projection.apply(r))
        .collect();
    Ok(ok(list_response(resources, total, paging.start_index)))
}

/// A resource id from a path: ours are whole numbers, so anything else names nothing.
pub fn parse_id(id: &str, kind: &str) -> Result<i64, ScimError> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| ScimError::not_found(format!("There is no {kind} with id {id:?}.")))
}

/// `meta` of a resource.
pub fn meta(kind: &str, location: String, created_at: i64, updated_at: i64) -> Value {
    json!({
        "resourceType": kind,
        "created": crate::domain::format_timestamp(created_at),
        "lastModified": crate::domain::format_timestamp(updated_at),
        "location": location,
    })
}

/// A string or boolean as identity providers send booleans (`true`, `"False"`).
pub fn boolean(name: &str, value: &Value) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!(
            "{name} must be true or false, not {other}."
        ))),
    }
}
