//! The route table: every endpoint of the API with the audience it serves. `web::router`
//! builds the three trees from it — public, staff, admin, one rule each — so an endpoint
//! cannot exist without an audience, and the route-table test walks the same list.

use std::sync::Arc;

use axum::{
    Extension,
    extract::DefaultBodyLimit,
    handler::Handler,
    http::Method,
    middleware,
    routing::{MethodFilter, MethodRouter, on},
};

use tokio::sync::Semaphore;

use super::{AppState, auth::Limit, extract::BodyLimit, overload};

/// Who a route serves; each is one tree of the router with one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Anyone: intake, the citizen's status with its secret, login, health.
    Public,
    /// An authenticated clerk or admin; a clerk only reaches their departments' cases.
    Staff,
    /// An authenticated admin.
    Admin,
}

pub struct Route {
    pub audience: Audience,
    pub method: Method,
    pub path: &'static str,
    /// The per-client allowance a public route draws on.
    pub limit: Option<Limit>,
    /// Whether the request holds one of `server.max_concurrent_requests` permits (health
    /// checks do not, so a busy service still answers its load balancer).
    counted: bool,
    /// The largest body, when it differs from `server.max_body_bytes` (admin uploads).
    body_limit: Option<usize>,
    endpoint: MethodRouter<AppState>,
}

impl Route {
    pub fn new<H, T>(audience: Audience, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a method axum routes");
        Self {
            audience,
            method,
            path,
            limit: None,
            counted: true,
            body_limit: None,
            endpoint: on(filter, handler),
        }
    }

    pub fn public<H: Handler<T, AppState>, T: 'static>(
        method: Method,
        path: &'static str,
        handler: H,
    ) -> Self {
        Self::new(Audience::Public, method, path, handler)
    }

    pub fn staff<H: Handler<T, AppState>, T: 'static>(
        method: Method,
        path: &'static str,
        handler: H,
    ) -> Self {
        Self::new(Audience::Staff, method, path, handler)
    }

    pub fn admin<H: Handler<T, AppState>, T: 'static>(
        method: Method,
        path: &'static str,
        handler: H,
    ) -> Self {
        Self::new(Audience::Admin, method, path, handler)
    }

    /// Draws each request from the client's allowance of `limit`.
    pub fn limited(mut self, limit: Limit) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Leaves the request out of the concurrency bound.
    pub fn uncounted(mut self) -> Self {
        self.counted = false;
        self
    }

    /// Takes bodies up to `limit` bytes instead of `server.max_body_bytes`; a 413 names
    /// this limit.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = Some(limit);
        self.endpoint = self
            .endpoint
            .layer::<_, std::convert::Infallible>(Extension(BodyLimit(limit)))
            .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(limit));
        self
    }

    /// The endpoint with its rate limit, concurrency bound and early refusal of a declared
    /// oversize body, ready for its tree.
    pub(super) fn into_endpoint(
        self,
        state: &AppState,
        permits: &Arc<Semaphore>,
    ) -> MethodRouter<AppState> {
        let mut endpoint = self.endpoint;
        if super::pages::frame::is_page(self.path)
            && !matches!(self.method, Method::GET | Method::HEAD)
        {
            endpoint = endpoint.layer(middleware::from_fn_with_state(
                state.clone(),
                super::pages::frame::guard,
            ));
        }
        if let Some(limit) = self.limit {
            endpoint = endpoint.layer(middleware::from_fn_with_state(
                (state.clone(), limit),
                super::auth::throttle::limited,
            ));
        }
        if self.counted {
            endpoint = endpoint.layer(middleware::from_fn_with_state(
                permits.clone(),
                overload::admit,
            ));
        }
        let limit = BodyLimit(
            self.body_limit
                .unwrap_or(state.config.server.max_body_bytes),
        );
        endpoint.layer(middleware::from_fn_with_state(
            limit,
            super::extract::refuse_declared_oversize,
        ))
    }
}
