//! The table that maps an identity provider's groups to roles (single sign-on and SCIM alike):
//! the saved rows and two blank ones, so that it is filled in without JavaScript too, sent as
//! `mapping_role[i]` and `mapping_group[i]`.

use leptos::prelude::*;

use crate::domain::{Role, RoleGroup, MAPPABLE_ROLES};

/// A mapping row: its role and group.
type Row = (Role, String);

#[component]
pub fn MappingTable(
    /// Names the table for tests (`{prefix}mappings`).
    prefix: &'static str,
    roles_groups: Vec<RoleGroup>,
) -> impl IntoView {
    let mut initial: Vec<Row> = roles_groups
        .iter()
        .map(|m| (m.role(), m.group().to_owned()))
        .collect();
    initial.extend([
        (Role::Annotator, String::new()),
        (Role::Annotator, String::new()),
    ]);
    let rows = RwSignal::new(initial);
    view! {
        <table class="mappings" data-testid=format!("{prefix}mappings")>
            <thead><tr><th scope="col">"Role"</th><th scope="col">"Group at the provider"</th></tr></thead>
            <tbody>
                <For
                    each={move || rows.get().into_iter().enumerate().collect::<Vec<_>>()}
                    key={|row: &(usize, Row)| row.0}
                    children={move |(i, (role, group)): (usize, Row)| view! {
                        <tr>
                            <td>
                                <select name=format!("mapping_role[{i}]") aria-label="Role">
                                    {MAPPABLE_ROLES.map(|r| view! {
                                        <option value=r.as_str() selected=r == role>{r.label()}</option>
                                    })}
                                </select>
                            </td>
                            <td>
                                <input name=format!("mapping_group[{i}]") value=group
                                    aria-label="Group" placeholder="group name" />
                            </td>
                        </tr>
                    }}
                />
            </tbody>
        </table>
        <p>
            <button type="button" on:click=move |_| rows.update(|r| r.push((Role::Annotator, String::new())))>
                "Add a row"
            </button>
        </p>
    }
}
