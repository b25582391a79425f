//! Discovery (RFC 7644 section 4): what this server supports, as `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas` describe it. The User schema lists what gatehouse keeps; the
//! same lists decide which attributes a request may carry ([`USER_ATTRIBUTES`]).

use axum::{extract::Path, response::Response};
use serde_json::{json, Value};

use super::{
    list_response, ok, Provider, ScimError, ENTERPRISE_SCHEMA, GROUP_SCHEMA, MAX_COUNT, USER_SCHEMA,
};

/// One attribute of a schema: name, type, multi-valued, and its sub-attributes.
pub struct Attribute {
    pub name: &'static str,
    pub kind: &'static str,
    pub multi: bool,
    pub required: bool,
    pub mutability: &'static str,
    pub returned: &'static str,
    pub uniqueness: &'static str,
    pub case_exact: bool,
    pub description: &'static str,
    pub sub: &'static [Attribute],
    /// What a reference refers to.
    pub reference_types: &'static [&'static str],
    /// The values a string takes, when they are fixed.
    pub canonical: &'static [&'static str],
}

const fn attr(name: &'static str, kind: &'static str, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind,
        multi: false,
        required: false,
        mutability: "readWrite",
        returned: "default",
        uniqueness: "none",
        case_exact: false,
        description,
        sub: &[],
        reference_types: &["external"],
        canonical: &[],
    }
}

const fn complex(
    name: &'static str,
    multi: bool,
    description: &'static str,
    sub: &'static [Attribute],
) -> Attribute {
    Attribute {
        multi,
        sub,
        ..attr(name, "complex", description)
    }
}

/// The sub-attributes of a multi-valued attribute such as `emails`.
const VALUE_SUB: &[Attribute] = &[
    attr("value", "string", "The value."),
    attr("display", "string", "A human-readable name."),
    attr("type", "string", "A label such as work or home."),
    attr("primary", "boolean", "Whether this is the primary value."),
];

const NAME_SUB: &[Attribute] = &[
    attr("formatted", "string", "The full name."),
    attr(
        "familyName",
        "string",
        "The last name (gatehouse shows it).",
    ),
    attr(
        "givenName",
        "string",
        "The first name (gatehouse shows it).",
    ),
    attr("middleName", "string", "The middle name."),
    attr("honorificPrefix", "string", "A title such as Ms."),
    attr("honorificSuffix", "string", "A suffix such as III."),
];

const ADDRESS_SUB: &[Attribute] = &[
    attr("formatted", "string", "The full address."),
    attr("streetAddress", "string", "The street."),
    attr("locality", "string", "The city."),
    attr("region", "string", "The state or region."),
    attr("postalCode", "string", "The postal code."),
    attr("country", "string", "The country."),
    attr("type", "string", "A label such as work or home."),
    attr("primary", "boolean", "Whether this is the primary address."),
];

const GROUP_REF_SUB: &[Attribute] = &[
    Attribute {
        mutability: "readOnly",
        ..attr("value", "string", "The group's id.")
    },
    Attribute {
        mutability: "readOnly",
        reference_types: &["Group"],
        ..attr("$ref", "reference", "The group's address.")
    },
    Attribute {
        mutability: "readOnly",
        ..attr("display", "string", "The group's name.")
    },
];

/// The User attributes gatehouse keeps (`userName`, `name`, `active` and `externalId` are its
/// own; the others are kept for the identity provider as it sent them).
pub const USER_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        uniqueness: "server",
        description: "The member's email address, lower-cased: it is their account.",
        ..attr("userName", "string", "")
    },
    complex("name", false, "The member's name.", NAME_SUB),
    attr("displayName", "string", "The name to display."),
    attr("nickName", "string", "A casual name."),
    attr("profileUrl", "reference", "A profile page."),
    attr("title", "string", "The job title."),
    attr("userType", "string", "The kind of member, as the identity provider labels it."),
    attr("preferredLanguage", "string", "The preferred language."),
    attr("locale", "string", "The locale."),
    attr("timezone", "string", "The time zone."),
    attr(
        "active",
        "boolean",
        "false deactivates the member (their seat is freed and their sessions end); true restores them.",
    ),
    complex("emails", true, "Email addresses.", VALUE_SUB),
    complex("phoneNumbers", true, "Phone numbers.", VALUE_SUB),
    complex("ims", true, "Instant messaging addresses.", VALUE_SUB),
    complex("photos", true, "Photos.", VALUE_SUB),
    complex("addresses", true, "Postal addresses.", ADDRESS_SUB),
    complex("entitlements", true, "Entitlements.", VALUE_SUB),
    complex("roles", true, "Roles as the identity provider names them (gatehouse's role follows the group mappings).", VALUE_SUB),
    complex("x509Certificates", true, "Certificates.", VALUE_SUB),
    Attribute {
        mutability: "readOnly",
        ..complex("groups", true, "The groups the member is in; change them through /Groups.", GROUP_REF_SUB)
    },
];

const MANAGER_SUB: &[Attribute] = &[
    attr("value", "string", "The manager's id."),
    Attribute {
        reference_types: &["User"],
        ..attr("$ref", "reference", "The manager's address.")
    },
    Attribute {
        mutability: "readOnly",
        ..attr("displayName", "string", "The manager's name.")
    },
];

pub const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    attr("employeeNumber", "string", "The employee number."),
    attr("costCenter", "string", "The cost center."),
    attr("organization", "string", "The organization."),
    attr("division", "string", "The division."),
    attr("department", "string", "The department."),
    complex("manager", false, "The member's manager.", MANAGER_SUB),
];

const MEMBER_SUB: &[Attribute] = &[
    Attribute {
        mutability: "immutable",
        ..attr("value", "string", "The member's id.")
    },
    Attribute {
        mutability: "immutable",
        reference_types: &["User", "Group"],
        ..attr("$ref", "reference", "The member's address.")
    },
    Attribute {
        mutability: "immutable",
        canonical: &["User", "Group"],
        ..attr("type", "string", "User: groups hold only users.")
    },
];

pub const GROUP_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        uniqueness: "server",
        ..attr(
            "displayName",
            "string",
            "The group's name; the SCIM role mappings name groups by it (exactly, with case).",
        )
    },
    complex(
        "members",
        true,
        "The group's members (users of this organization, by id).",
        MEMBER_SUB,
    ),
];

/// Finds `name` among `attributes`, without regard to case.
pub fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

fn describe(attribute: &Attribute) -> Value {
    let mut v = json!({
        "name": attribute.name,
        "type": attribute.kind,
        "multiValued": attribute.multi,
        "description": attribute.description,
        "required": attribute.required,
        "mutability": attribute.mutability,
        "returned": attribute.returned,
    });
    if attribute.kind == "complex" {
        v["subAttributes"] = attribute.sub.iter().map(describe).collect();
    } else {
        v["caseExact"] = json!(attribute.case_exact);
        v["uniqueness"] = json!(attribute.uniqueness);
    }
    if attribute.kind == "reference" {
        v["referenceTypes"] = json!(attribute.reference_types);
    }
    if !attribute.canonical.is_empty() {
        v["canonicalValues"] = json!(attribute.canonical);
    }
    v
}

fn schema(id: &str, name: &str, description: &str, attributes: &[Attribute], base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes.iter().map(describe).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

fn all_schemas(base: &str) -> Vec<Value> {
    // `externalId` is common to every resource but listed for the identity providers that look.
    let external = attr(
        "externalId",
        "string",
        "The identity provider's id of the member.",
    );
    vec![
        {
            let mut s = schema(
                USER_SCHEMA,
                "User",
                "A member of the organization.",
                USER_ATTRIBUTES,
                base,
            );
            if let Some(list) = s["attributes"].as_array_mut() {
                list.push(describe(&external));
            }
            s
        },
        schema(
            ENTERPRISE_SCHEMA,
            "EnterpriseUser",
            "Enterprise attributes, kept for the identity provider.",
            ENTERPRISE_ATTRIBUTES,
            base,
        ),
        schema(
            GROUP_SCHEMA,
            "Group",
            "A group of the identity provider, whose members' roles follow the SCIM role mappings.",
            GROUP_ATTRIBUTES,
            base,
        ),
    ]
}

fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A member of the organization.",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A group whose members' roles follow the SCIM role mappings.",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

pub async fn service_provider_config(provider: Provider) -> Response {
    let base = provider.base();
    ok(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": format!("{}/api/docs", provider.origin.public),
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "SCIM token",
            "description": "The organization's SCIM token (ghs_…), made by its Owner on the single sign-on page, as Authorization: Bearer <token>.",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    }))
}

pub async fn resource_types_list(provider: Provider) -> Response {
    let all = resource_types(&provider.base());
    let n = all.len() as i64;
    ok(list_response(all, n, 1))
}

pub async fn resource_type(
    provider: Provider,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    resource_types(&provider.base())
        .into_iter()
        .find(|t| {
            t["id"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(&id))
        })
        .map(ok)
        .ok_or_else(|| {
            ScimError::not_found(format!(
                "There is no resource type {id:?}: there are User and Group."
            ))
        })
}

pub async fn schemas_list(provider: Provider) -> Response {
    let all = all_schemas(&provider.base());
    let n = all.len() as i64;
    ok(list_response(all, n, 1))
}

pub async fn schema_by_id(
    provider: Provider,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    all_schemas(&provider.base())
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(&id))
        })
        .map(ok)
        .ok_or_else(|| ScimError::not_found(format!("There is no schema {id:?}.")))
}
