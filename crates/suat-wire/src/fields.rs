//! The `fields` parameter (GRAPH-WIRE §5): which fields of a node to answer, in the order asked, `id` last unless
//! asked elsewhere; edges may appear as fields with `.limit(n)` and one level of nested `{...}`. Each node type names
//! its fields, edges and default fields here, so server and client agree on what exists.

use std::fmt;

/// One requested field: `name`, `edge.limit(5)`, `edge{a,b}` or both modifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequest {
    pub name: String,
    pub limit: Option<usize>,
    /// Nested fields of an edge's items (one level).
    pub sub: Option<Vec<String>>,
}

impl FieldRequest {
    pub fn plain(name: &str) -> FieldRequest {
        FieldRequest { name: name.to_owned(), limit: None, sub: None }
    }
}

/// A parsed `fields` parameter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection(pub Vec<FieldRequest>);

/// Why a `fields` parameter was refused. `Display` is the message after Graph's `(#100) ` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    Syntax { at: usize, found: char, raw: String },
    Unknown { field: String, node: &'static str },
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Syntax { at, found, raw } => {
                write!(f, "Syntax error \"Expected end of string instead of \"{found}\".\" at character {at}: {raw}")
            }
            FieldError::Unknown { field, node } => {
                write!(f, "Tried accessing nonexisting field ({field}) on node type ({node})")
            }
        }
    }
}

/// Longest `fields` value considered (the parameter limit already bounds it; this bounds the work per item).
const MAX_ITEMS: usize = 100;

impl Selection {
    /// Parses `a,b.limit(2){c,d},e`. Names are `[A-Za-z0-9_]+`; whitespace around items is ignored.
    pub fn parse(raw: &str) -> Result<Selection, FieldError> {
        let chars: Vec<char> = raw.chars().collect();
        let err = |at: usize| FieldError::Syntax { at, found: chars.get(at).copied().unwrap_or(' '), raw: raw.into() };
        let mut out = Vec::new();
        let mut i = 0;
        let skip_ws = |i: &mut usize| {
            while *i < chars.len() && chars[*i].is_whitespace() {
                *i += 1;
            }
        };
        let name_at = |i: &mut usize| -> String {
            let start = *i;
            while *i < chars.len() && (chars[*i].is_ascii_alphanumeric() || chars[*i] == '_') {
                *i += 1;
            }
            chars[start..*i].iter().collect()
        };
        loop {
            skip_ws(&mut i);
            if i >= chars.len() {
                break;
            }
            if chars[i] == ',' {
                i += 1;
                continue;
            }
            let name = name_at(&mut i);
            if name.is_empty() {
                return Err(err(i));
            }
            let mut req = FieldRequest::plain(&name);
            loop {
                if chars[i..].starts_with(&['.', 'l', 'i', 'm', 'i', 't', '(']) {
                    i += 7;
                    let start = i;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                    let n: String = chars[start..i].iter().collect();
                    if n.is_empty() || n.len() > 6 || chars.get(i) != Some(&')') {
                        return Err(err(i));
                    }
                    i += 1;
                    req.limit = n.parse().ok();
                } else if chars.get(i) == Some(&'{') && req.sub.is_none() {
                    i += 1;
                    let mut sub = Vec::new();
                    loop {
                        skip_ws(&mut i);
                        match chars.get(i) {
                            Some('}') => {
                                i += 1;
                                break;
                            }
                            Some(',') => i += 1,
                            Some(_) => {
                                let n = name_at(&mut i);
                                if n.is_empty() {
                                    return Err(err(i));
                                }
                                sub.push(n);
                            }
                            None => return Err(err(i)),
                        }
                    }
                    req.sub = Some(sub);
                } else {
                    break;
                }
            }
            skip_ws(&mut i);
            if i < chars.len() && chars[i] != ',' {
                return Err(err(i));
            }
            if !out.iter().any(|r: &FieldRequest| r.name == req.name) {
                out.push(req);
            }
            if out.len() > MAX_ITEMS {
                return Err(err(i));
            }
        }
        Ok(Selection(out))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|r| r.name.as_str())
    }
}

/// One slot of an answer, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    Field(String),
    Edge(FieldRequest),
}

/// A Graph node type: what `fields` may name on it.
#[derive(Debug)]
pub struct NodeType {
    /// As Graph names it in errors (`User`, `Page`, `Application`, `Business`).
    pub name: &'static str,
    pub fields: &'static [&'static str],
    pub edges: &'static [&'static str],
    /// Answered when no `fields` is given.
    pub defaults: &'static [&'static str],
}

/// People and system users (Graph reports both as `User`).
pub const USER: NodeType = NodeType {
    name: "User",
    fields: &["id", "name", "first_name", "last_name", "email", "role"],
    edges: &["accounts", "permissions", "assigned_pages"],
    defaults: &["name", "id"],
};

pub const PAGE: NodeType = NodeType {
    name: "Page",
    fields: &["id", "name", "access_token", "category", "category_list", "tasks"],
    edges: &["assigned_users"],
    defaults: &["name", "id"],
};

pub const APPLICATION: NodeType =
    NodeType { name: "Application", fields: &["id", "name"], edges: &[], defaults: &["name", "id"] };

pub const BUSINESS: NodeType = NodeType {
    name: "Business",
    fields: &["id", "name"],
    edges: &["owned_apps", "client_apps", "owned_pages", "owned_businesses", "system_users"],
    defaults: &["name", "id"],
};

/// An item of `/me/accounts` (a Page with the caller's role).
pub const ACCOUNT: NodeType = NodeType {
    name: "Page",
    fields: PAGE.fields,
    edges: PAGE.edges,
    defaults: &["access_token", "category", "category_list", "name", "id", "tasks"],
};

/// An item of `/{user}/assigned_pages` (a Page with that user's tasks).
pub const ASSIGNED_PAGE: NodeType = NodeType { defaults: &["id", "name", "tasks"], ..PAGE };

/// An item of `/{business}/owned_pages`.
pub const OWNED_PAGE: NodeType = NodeType { defaults: &["id", "name"], ..PAGE };

/// An item of `/{page}/assigned_users` (a User with their tasks on the page).
pub const ASSIGNED_USER: NodeType = NodeType {
    name: "User",
    fields: &["id", "name", "first_name", "last_name", "email", "role", "tasks"],
    edges: USER.edges,
    defaults: &["id", "name", "tasks"],
};

/// An item of `/{business}/system_users`.
pub const SYSTEM_USER_ITEM: NodeType = NodeType { defaults: &["id", "name", "role"], ..USER };

/// An item of `/{business}/owned_apps` and `/client_apps`.
pub const APP_ITEM: NodeType = NodeType { defaults: &["id", "name"], ..APPLICATION };

/// An item of `/{business}/owned_businesses` (child businesses).
pub const BUSINESS_ITEM: NodeType = NodeType { defaults: &["id", "name"], ..BUSINESS };

/// An item of `/me/permissions` (not a node: it has no id).
pub const PERMISSION: NodeType =
    NodeType { name: "Permission", fields: &["permission", "status"], edges: &[], defaults: &["permission", "status"] };

/// Whether any node type has an edge of this name (the router's first check: no object is read for a path whose
/// edge exists nowhere).
pub fn is_edge(name: &str) -> bool {
    [&USER, &PAGE, &APPLICATION, &BUSINESS].iter().any(|t| t.edges.contains(&name))
}

/// Answers the defaults in their own order (`id` first where the defaults say so), not moved last.
fn defaults_plan(ty: &NodeType) -> Vec<Slot> {
    ty.defaults
        .iter()
        .map(|f| if ty.edges.contains(f) { Slot::Edge(FieldRequest::plain(f)) } else { Slot::Field((*f).to_owned()) })
        .collect()
}

impl NodeType {
    /// The answer's slots: the fields asked for in order (or the defaults), every name checked, `id` last unless
    /// asked elsewhere.
    pub fn plan(&self, sel: Option<&Selection>) -> Result<Vec<Slot>, FieldError> {
        let Some(sel) = sel.filter(|s| !s.0.is_empty()) else {
            return Ok(defaults_plan(self));
        };
        let mut out = Vec::with_capacity(sel.0.len() + 1);
        for r in &sel.0 {
            if self.edges.contains(&r.name.as_str()) {
                out.push(Slot::Edge(r.clone()));
            } else if self.fields.contains(&r.name.as_str()) && r.limit.is_none() && r.sub.is_none() {
                out.push(Slot::Field(r.name.clone()));
            } else {
                return Err(FieldError::Unknown { field: r.name.clone(), node: self.name });
            }
        }
        if !sel.names().any(|n| n == "id") {
            out.push(Slot::Field("id".into()));
        }
        Ok(out)
    }

    /// Picks the plain fields of `plan` from `full` (a node with every field it has); edges are the caller's to
    /// fill in at their slots. Fields the node does not have (an unseeded `email`) are left out, as Graph does.
    pub fn pick(
        full: &serde_json::Map<String, serde_json::Value>,
        plan: &[Slot],
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        for s in plan {
            if let Slot::Field(f) = s {
                if let Some(v) = full.get(f) {
                    out.insert(f.clone(), v.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(plan: &[Slot]) -> Vec<String> {
        plan.iter()
            .map(|s| match s {
                Slot::Field(f) => f.clone(),
                Slot::Edge(e) => format!("edge:{}", e.name),
            })
            .collect()
    }

    #[test]
    fn parses_edges_with_limit_and_nested_fields() {
        let s = Selection::parse("name, accounts.limit(2){name,access_token},id").unwrap();
        assert_eq!(s.0[0], FieldRequest::plain("name"));
        assert_eq!(s.0[1].limit, Some(2));
        assert_eq!(s.0[1].sub, Some(vec!["name".to_owned(), "access_token".to_owned()]));
        assert_eq!(Selection::parse("accounts{name}.limit(3)").unwrap().0[0].limit, Some(3));
        for bad in ["name{", "a.b", "x,{y}", "a.limit()", "a.limit(2", "a{b{c}}", "na me"] {
            assert!(Selection::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Selection::parse("").unwrap(), Selection::default());
    }

    #[test]
    fn plans_keep_asked_order_with_id_last() {
        let p = USER.plan(Some(&Selection::parse("email,name").unwrap())).unwrap();
        assert_eq!(names(&p), ["email", "name", "id"]);
        let p = USER.plan(Some(&Selection::parse("id,name").unwrap())).unwrap();
        assert_eq!(names(&p), ["id", "name"]);
        assert_eq!(names(&USER.plan(None).unwrap()), ["name", "id"]);
        let p = USER.plan(Some(&Selection::parse("accounts.limit(1)").unwrap())).unwrap();
        assert_eq!(names(&p), ["edge:accounts", "id"]);
        let e = USER.plan(Some(&Selection::parse("name,nonsense").unwrap())).unwrap_err();
        assert_eq!(e.to_string(), "Tried accessing nonexisting field (nonsense) on node type (User)");
        assert!(USER.plan(Some(&Selection::parse("name.limit(2)").unwrap())).is_err());
    }

    #[test]
    fn pick_skips_what_the_node_lacks() {
        let full = json!({"id": "1", "name": "Pat"});
        let plan = USER.plan(Some(&Selection::parse("email,name").unwrap())).unwrap();
        let got = NodeType::pick(full.as_object().unwrap(), &plan);
        assert_eq!(serde_json::Value::Object(got).to_string(), r#"{"name":"Pat","id":"1"}"#);
    }
}
