//! The model catalog: public aliases and the upstream each one is served by.

use std::collections::HashMap;
use std::sync::Arc;

use providers::Provider;

use crate::telemetry::RouteMetrics;
use crate::{Error, ErrorKind};

/// One servable model: a public alias bound to a provider and the upstream's model name.
#[derive(Debug, Clone)]
pub struct Route {
    pub alias: Arc<str>,
    /// The configured provider's name (a bounded label: providers come from configuration).
    pub provider_name: Arc<str>,
    pub provider: Arc<Provider>,
    pub upstream_model: Arc<str>,
    /// Shown as `owned_by` in `/v1/models`.
    pub owned_by: Arc<str>,
    /// Unix seconds shown as `created` in `/v1/models`.
    pub created: i64,
    pub metrics: RouteMetrics,
}

/// Every configured model, looked up by alias on each request.
#[derive(Debug, Default)]
pub struct Catalog {
    routes: HashMap<Arc<str>, Arc<Route>>,
    /// Aliases in configuration order, for stable listings.
    order: Vec<Arc<str>>,
}

impl Catalog {
    /// # Errors
    /// `Internal` when an alias is listed twice (configuration validation catches it first).
    pub fn new(routes: Vec<Route>) -> Result<Self, Error> {
        let mut res = Catalog::default();
        for route in routes {
            if res.routes.contains_key(&route.alias) {
                return Err(Error::internal(format!(
                    "model `{}` defined twice",
                    route.alias
                )));
            }
            res.order.push(route.alias.clone());
            res.routes.insert(route.alias.clone(), Arc::new(route));
        }
        Ok(res)
    }

    /// # Errors
    /// `ModelNotFound` naming the model.
    pub fn resolve(&self, alias: &str) -> Result<&Arc<Route>, Error> {
        self.routes.get(alias).ok_or_else(|| {
            Error::new(
                ErrorKind::ModelNotFound,
                format!(
                    "the model `{}` does not exist; list the available models with GET /v1/models",
                    truncate(alias, 100)
                ),
            )
            .with_param("model")
        })
    }

    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.order
            .iter()
            .filter_map(|alias| self.routes.get(alias).map(|it| it.as_ref()))
    }
}

/// Echoing client input in messages is bounded, so a huge `model` cannot bloat an error.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let mut res: String = text.chars().take(max_chars).collect();
        res.push('…');
        res
    }
}
