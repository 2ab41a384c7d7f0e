//! Single sign-on the way municipal IT runs it: an authenticating reverse proxy (e.g.
//! oauth2-proxy in front of the city's OIDC or AD FS) passes the user name in
//! `auth.trusted_header` and the groups in `auth.groups_header`. They are believed only
//! when the connection comes from `auth.trusted_proxies`; the groups map to a role and
//! departments through `[auth.groups]`. A user none of whose groups is mapped is nobody.

use axum::http::{Extensions, HeaderMap};

use super::{Identity, Via, throttle::peer_addr};
use crate::{
    config::AuthConfig,
    domain::{Role, UserName},
};

/// The identity the trusted proxy vouches for, if single sign-on is on and it does.
pub(super) fn identity(
    auth: &AuthConfig,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Option<Identity> {
    if auth.trusted_header.is_empty()
        || !peer_addr(extensions).is_some_and(|p| auth.is_trusted_proxy(p))
    {
        return None;
    }
    let name = headers.get(auth.trusted_header.as_str())?.to_str().ok()?;
    let name = UserName::parse(name).ok()?;
    let groups: Vec<&str> = match auth.groups_header.as_str() {
        "" => Vec::new(),
        header => headers
            .get_all(header)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect(),
    };
    let grants: Vec<_> = groups.iter().filter_map(|g| auth.groups.get(*g)).collect();
    let role = if grants.iter().any(|g| g.role == Role::Admin) {
        Role::Admin
    } else if !grants.is_empty() {
        Role::Clerk
    } else {
        return None;
    };
    let mut departments: Vec<String> = match role {
        Role::Admin => Vec::new(),
        Role::Clerk => grants.iter().flat_map(|g| g.departments.clone()).collect(),
    };
    departments.sort();
    departments.dedup();
    Some(Identity {
        actor: format!("sso:{name}"),
        name: name.to_string(),
        role,
        departments,
        via: Via::Sso,
    })
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;

    use super::*;
    use crate::config::{Config, GroupGrant, ProxyNet};

    fn auth() -> AuthConfig {
        let mut a = Config::defaults().auth;
        a.trusted_header = "X-Forwarded-User".into();
        a.groups_header = "X-Forwarded-Groups".into();
        a.trusted_proxies = vec![ProxyNet("10.0.0.0/24".parse().unwrap())];
        let clerk = |d: &str| GroupGrant {
            role: Role::Clerk,
            departments: vec![d.into()],
        };
        a.groups.insert("amt-66".into(), clerk("tiefbau"));
        a.groups.insert("amt-70".into(), clerk("abfallwirtschaft"));
        a.groups.insert(
            "it-admins".into(),
            GroupGrant {
                role: Role::Admin,
                departments: Vec::new(),
            },
        );
        a
    }

    fn request(peer: &str, user: &str, groups: &str) -> (HeaderMap, Extensions) {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-user", user.parse().unwrap());
        headers.insert("x-forwarded-groups", groups.parse().unwrap());
        let mut extensions = Extensions::new();
        let peer: SocketAddr = format!("{peer}:443").parse().unwrap();
        extensions.insert(ConnectInfo(peer));
        (headers, extensions)
    }

    #[test]
    fn groups_grant_role_and_departments_from_a_trusted_proxy_only() {
        let auth = auth();
        let (h, e) = request("10.0.0.2", "Mueller@Kreis", "amt-70, kantine,amt-66");
        let id = identity(&auth, &h, &e).unwrap();
        assert_eq!(
            (id.role, id.actor.as_str()),
            (Role::Clerk, "sso:mueller@kreis")
        );
        assert_eq!(id.departments, ["abfallwirtschaft", "tiefbau"]);
        let (h, e) = request("10.0.0.2", "chefin", "amt-66,it-admins");
        assert_eq!(identity(&auth, &h, &e).unwrap().role, Role::Admin);
        let (h, e) = request("10.0.0.2", "gast", "kantine");
        assert!(identity(&auth, &h, &e).is_none(), "no mapped group");
        let (h, e) = request("192.0.2.9", "chefin", "it-admins");
        assert!(
            identity(&auth, &h, &e).is_none(),
            "not from a trusted proxy"
        );
        let mut off = auth.clone();
        off.trusted_header = String::new();
        let (h, e) = request("10.0.0.2", "chefin", "it-admins");
        assert!(identity(&off, &h, &e).is_none(), "single sign-on off");
    }
}
