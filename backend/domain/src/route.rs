//! Model aliases a tenant defines itself: over the platform's models and deployments, over its
//! own provider credentials, and over its other aliases. The spec is what a tenant admin
//! writes; `expand` flattens it into the deployments a call can try, refusing loops, unknown
//! names and degenerate weights with the field at fault. The management API checks a spec
//! with it before storing, and every node flattens the stored specs with it when its
//! snapshot loads, so what was accepted is what is served.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{TenantId, UserId};

/// Most aliases one tenant may define.
pub const MAX_ROUTES: usize = 100;
/// Most targets one alias may list, and most deployments it may flatten to.
pub const MAX_DEPLOYMENTS: usize = 16;
/// How deep aliases may name aliases.
pub const MAX_DEPTH: usize = 4;
/// The strategies a tenant's alias may use (the names `gateway::routing::Strategy` parses).
pub const STRATEGIES: [&str; 7] = [
    "priority",
    "weighted",
    "round_robin",
    "least_latency",
    "least_cost",
    "usage_aware",
    "split",
];

/// A stored alias of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRoute {
    pub tenant_id: TenantId,
    pub alias: String,
    pub spec: RouteSpec,
    pub updated_by: Option<UserId>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// How an alias spreads calls and what it falls over to; stored as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSpec {
    pub strategy: String,
    pub targets: Vec<RouteTarget>,
    /// Tries in all, across deployments; `None`: one per deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// The whole call's deadline over every try, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Whether a prompt too long for one deployment goes on to the next.
    #[serde(default)]
    pub fallback_on_context_window: bool,
    /// How long answers are kept in the response cache; `None`: not cached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_ttl_seconds: Option<u32>,
}

/// One entry of an alias: what serves it, and how it ranks against the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTarget {
    pub serves: Serves,
    /// Share among targets of equal priority (weighted strategy); 0: only as a fallback.
    pub weight: u32,
    /// Lower goes first; higher priorities are fallbacks.
    pub priority: u32,
}

/// What a target sends calls to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Serves {
    /// A platform model (every deployment of it, or the one named), or another of the
    /// tenant's aliases.
    Model {
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deployment: Option<String>,
    },
    /// A configured provider called with the tenant's own credential for it (never the
    /// platform's key), asking for `upstream_model`.
    OwnCredential {
        provider: String,
        upstream_model: String,
    },
}

/// What the platform offers to build aliases on: its models and the providers a tenant may
/// bring its own key for.
pub trait Platform {
    /// The deployments of a platform model, in its configuration order.
    fn model(&self, alias: &str) -> Option<Vec<PlatformDeployment>>;
    /// Whether tenants may use their own credential for this configured provider.
    fn accepts_own_credential(&self, provider: &str) -> bool;
}

/// One deployment of a platform model, as `expand` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformDeployment {
    pub name: String,
    pub provider: String,
    /// The provider's kind (`openai`, `anthropic`, …): what default prices are listed under.
    pub provider_kind: String,
    pub upstream_model: String,
    /// Where it runs, for data residency.
    pub region: Option<String>,
    pub weight: u32,
    pub priority: u32,
}

/// The platform's models and own-key providers as plain data: what the management API checks
/// tenants' aliases against (the gateway's catalog builds it once at start).
#[derive(Debug, Clone, Default)]
pub struct PlatformModels {
    pub models: HashMap<String, Vec<PlatformDeployment>>,
    pub own_credential_providers: std::collections::HashSet<String>,
}

impl PlatformModels {
    /// Every region a platform deployment is in, sorted: what residency can choose from.
    pub fn regions(&self) -> Vec<String> {
        let mut res: Vec<String> = self
            .models
            .values()
            .flatten()
            .filter_map(|it| it.region.clone())
            .collect();
        res.sort();
        res.dedup();
        res
    }
}

impl Platform for PlatformModels {
    fn model(&self, alias: &str) -> Option<Vec<PlatformDeployment>> {
        self.models.get(alias).cloned()
    }

    fn accepts_own_credential(&self, provider: &str) -> bool {
        self.own_credential_providers.contains(provider)
    }
}

/// One deployment an alias flattens to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flat {
    /// Unique within the alias; shown to callers in a response header.
    pub name: String,
    pub source: FlatSource,
    pub weight: u32,
    /// Lower goes first: the rank of `path` among the alias's deployments.
    pub priority: u32,
    /// The priorities along the path from the alias, outermost first: compared in that order.
    path: Vec<u32>,
}

/// Where a flattened deployment's calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlatSource {
    /// The platform model's deployment of that name.
    Platform { model: String, deployment: String },
    /// The tenant's own credential for `provider`.
    Own {
        provider: String,
        upstream_model: String,
    },
}

/// Why a spec cannot be served: the field (a JSON path into the request body) and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

/// Checks an alias's name: what keys' model scopes, `/v1/models` and headers can carry.
///
/// # Errors
/// A `Problem` on `alias`.
pub fn check_alias(alias: &str) -> Result<(), Problem> {
    if alias.is_empty()
        || alias.len() > 64
        || !alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
    {
        return Err(Problem::new(
            "alias",
            "an alias is 1 to 64 characters of letters, digits and `.` `_` `:` `-`",
        ));
    }
    Ok(())
}

/// Checks the parts of a spec that need nothing but the spec.
///
/// # Errors
/// A `Problem` naming the field.
pub fn check_spec(spec: &RouteSpec) -> Result<(), Problem> {
    if !STRATEGIES.contains(&spec.strategy.as_str()) {
        return Err(Problem::new(
            "strategy",
            format!(
                "unknown strategy `{}`; expected one of {}",
                spec.strategy.chars().take(40).collect::<String>(),
                STRATEGIES.join(", ")
            ),
        ));
    }
    if spec.targets.is_empty() {
        return Err(Problem::new(
            "deployments",
            "an alias needs at least one deployment",
        ));
    }
    if spec.targets.len() > MAX_DEPLOYMENTS {
        return Err(Problem::new(
            "deployments",
            format!("an alias lists at most {MAX_DEPLOYMENTS} deployments"),
        ));
    }
    if (spec.strategy == "weighted" || spec.strategy == "split")
        && spec.targets.iter().all(|it| it.weight == 0)
    {
        return Err(Problem::new(
            "deployments",
            "a weighted or split alias needs a deployment with a weight above 0",
        ));
    }
    for (i, target) in spec.targets.iter().enumerate() {
        let at = |field: &str| format!("deployments[{i}].{field}");
        if target.weight > 1_000_000 {
            return Err(Problem::new(at("weight"), "a weight is 0 to 1000000"));
        }
        if target.priority > 1000 {
            return Err(Problem::new(at("priority"), "a priority is 0 to 1000"));
        }
        match &target.serves {
            Serves::Model { model, deployment } => {
                check_name(model).map_err(|m| Problem::new(at("model"), m))?;
                if let Some(name) = deployment {
                    check_name(name).map_err(|m| Problem::new(at("deployment"), m))?;
                }
            }
            Serves::OwnCredential {
                provider,
                upstream_model,
            } => {
                check_name(provider).map_err(|m| Problem::new(at("provider"), m))?;
                // It is shown in a response header, as part of the deployment's name.
                if upstream_model.is_empty()
                    || upstream_model.len() > 200
                    || !upstream_model.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(Problem::new(
                        at("upstream_model"),
                        "an upstream model is 1 to 200 visible ASCII characters",
                    ));
                }
            }
        }
    }
    if let Some(tries) = spec.max_attempts
        && !(1..=10).contains(&tries)
    {
        return Err(Problem::new("max_attempts", "`max_attempts` is 1 to 10"));
    }
    if let Some(ms) = spec.timeout_ms
        && !(100..=600_000).contains(&ms)
    {
        return Err(Problem::new(
            "timeout_ms",
            "`timeout_ms` is 100 to 600000 (ten minutes)",
        ));
    }
    if let Some(ttl) = spec.cache_ttl_seconds
        && !(1..=86_400).contains(&ttl)
    {
        return Err(Problem::new(
            "cache_ttl_seconds",
            "`cache_ttl_seconds` is 1 to 86400 (a day)",
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a name is 1 to 64 visible ASCII characters".into());
    }
    Ok(())
}

/// Flattens the tenant's alias `alias` into the deployments a call tries, following aliases
/// it names (the tenant's own first, then the platform's) at most [`MAX_DEPTH`] deep.
///
/// A target naming a model contributes every deployment of it, each weighing the target's
/// weight times its own and ranked first by the target's priority, then by its own.
///
/// # Errors
/// A `Problem` naming the field of `alias`'s spec at fault: an unknown model, deployment or
/// provider, a loop of aliases, nesting too deep, or two paths reaching one deployment.
pub fn expand(
    alias: &str,
    specs: &HashMap<String, RouteSpec>,
    platform: &dyn Platform,
) -> Result<Vec<Flat>, Problem> {
    let spec = specs
        .get(alias)
        .ok_or_else(|| Problem::new("alias", format!("no alias `{alias}`")))?;
    let mut path = vec![alias.to_owned()];
    let mut res = Vec::new();
    for (i, target) in spec.targets.iter().enumerate() {
        let field = |name: &str| format!("deployments[{i}].{name}");
        let flat = expand_target(target, specs, platform, &mut path).map_err(|e| match e {
            Fault::At(name, message) => Problem::new(field(name), message),
        })?;
        res.extend(flat);
    }
    let mut seen = std::collections::HashSet::new();
    for it in &res {
        if !seen.insert(it.name.as_str()) {
            return Err(Problem::new(
                "deployments",
                format!(
                    "the deployment `{}` is reached twice; list it once",
                    it.name
                ),
            ));
        }
    }
    if res.len() > MAX_DEPLOYMENTS {
        return Err(Problem::new(
            "deployments",
            format!(
                "the alias flattens to {} deployments; at most {MAX_DEPLOYMENTS}",
                res.len()
            ),
        ));
    }
    if (spec.strategy == "weighted" || spec.strategy == "split")
        && res.iter().all(|it| it.weight == 0)
    {
        return Err(Problem::new(
            "deployments",
            "a weighted or split alias needs a deployment with a weight above 0",
        ));
    }
    let mut paths: Vec<&Vec<u32>> = res.iter().map(|it| &it.path).collect();
    paths.sort();
    paths.dedup();
    let ranks: Vec<u32> = res
        .iter()
        .map(|it| {
            let rank = paths.iter().position(|p| *p == &it.path).unwrap_or(0);
            u32::try_from(rank).unwrap_or(u32::MAX)
        })
        .collect();
    for (it, rank) in res.iter_mut().zip(ranks) {
        it.priority = rank;
    }
    Ok(res)
}

/// A fault in one target, before the caller names it: which field, and what.
enum Fault {
    At(&'static str, String),
}

fn expand_target(
    target: &RouteTarget,
    specs: &HashMap<String, RouteSpec>,
    platform: &dyn Platform,
    path: &mut Vec<String>,
) -> Result<Vec<Flat>, Fault> {
    match &target.serves {
        Serves::OwnCredential {
            provider,
            upstream_model,
        } => {
            if !platform.accepts_own_credential(provider) {
                return Err(Fault::At(
                    "provider",
                    format!("`{provider}` is not a provider that takes a tenant's own credential"),
                ));
            }
            Ok(vec![Flat {
                name: format!("{provider}/{upstream_model}"),
                source: FlatSource::Own {
                    provider: provider.clone(),
                    upstream_model: upstream_model.clone(),
                },
                weight: target.weight,
                priority: 0,
                path: vec![target.priority],
            }])
        }
        Serves::Model { model, deployment } => {
            if path.iter().any(|it| it == model) {
                let mut cycle = path.clone();
                cycle.push(model.clone());
                return Err(Fault::At(
                    "model",
                    format!("aliases form a loop: {}", cycle.join(" → ")),
                ));
            }
            if let Some(inner) = specs.get(model) {
                if deployment.is_some() {
                    return Err(Fault::At(
                        "deployment",
                        format!(
                            "`{model}` is one of your aliases; name a platform model to pick one of its deployments"
                        ),
                    ));
                }
                if path.len() >= MAX_DEPTH {
                    return Err(Fault::At(
                        "model",
                        format!("aliases nest at most {MAX_DEPTH} deep"),
                    ));
                }
                path.push(model.clone());
                let mut res = Vec::new();
                for target_inner in &inner.targets {
                    let flat = expand_target(target_inner, specs, platform, path).map_err(
                        |Fault::At(_, message)| {
                            Fault::At("model", format!("in `{model}`: {message}"))
                        },
                    )?;
                    res.extend(flat.into_iter().map(|mut it| {
                        it.weight = it.weight.saturating_mul(target.weight);
                        it.path.insert(0, target.priority);
                        it
                    }));
                }
                path.pop();
                return Ok(res);
            }
            let Some(deployments) = platform.model(model) else {
                return Err(Fault::At(
                    "model",
                    format!("no model `{model}`; use one of GET /v1/models or of your aliases"),
                ));
            };
            let chosen: Vec<PlatformDeployment> = match deployment {
                None => deployments,
                Some(name) => {
                    let one: Vec<PlatformDeployment> = deployments
                        .into_iter()
                        .filter(|it| &it.name == name)
                        .map(|it| PlatformDeployment {
                            weight: 1,
                            priority: 0,
                            ..it
                        })
                        .collect();
                    if one.is_empty() {
                        return Err(Fault::At(
                            "deployment",
                            format!("the model `{model}` has no deployment `{name}`"),
                        ));
                    }
                    one
                }
            };
            Ok(chosen
                .into_iter()
                .map(|it| Flat {
                    name: it.name.clone(),
                    source: FlatSource::Platform {
                        model: model.clone(),
                        deployment: it.name,
                    },
                    weight: it.weight.saturating_mul(target.weight),
                    priority: 0,
                    path: vec![target.priority, it.priority],
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct World;

    impl Platform for World {
        fn model(&self, alias: &str) -> Option<Vec<PlatformDeployment>> {
            let one = |name: &str, weight, priority| PlatformDeployment {
                name: name.into(),
                provider: name.into(),
                provider_kind: "openai".into(),
                upstream_model: "m".into(),
                region: None,
                weight,
                priority,
            };
            match alias {
                "gpt-4o" => Some(vec![one("azure-east", 3, 0), one("openai", 1, 1)]),
                "claude" => Some(vec![one("anthropic", 1, 0)]),
                _ => None,
            }
        }

        fn accepts_own_credential(&self, provider: &str) -> bool {
            provider == "openai"
        }
    }

    fn model(name: &str, weight: u32, priority: u32) -> RouteTarget {
        RouteTarget {
            serves: Serves::Model {
                model: name.into(),
                deployment: None,
            },
            weight,
            priority,
        }
    }

    fn spec(targets: Vec<RouteTarget>) -> RouteSpec {
        RouteSpec {
            strategy: "weighted".into(),
            targets,
            max_attempts: None,
            timeout_ms: None,
            fallback_on_context_window: false,
            cache_ttl_seconds: None,
        }
    }

    fn specs(list: &[(&str, RouteSpec)]) -> HashMap<String, RouteSpec> {
        list.iter()
            .map(|(alias, spec)| ((*alias).to_owned(), spec.clone()))
            .collect()
    }

    #[test]
    fn platform_models_flatten_with_weights_multiplied_and_priorities_nested() {
        let all = specs(&[(
            "mine",
            spec(vec![
                model("gpt-4o", 2, 0),
                RouteTarget {
                    serves: Serves::OwnCredential {
                        provider: "openai".into(),
                        upstream_model: "gpt-4.1".into(),
                    },
                    weight: 1,
                    priority: 1,
                },
            ]),
        )]);
        let flat = expand("mine", &all, &World).unwrap();
        let names: Vec<(&str, u32, u32)> = flat
            .iter()
            .map(|it| (it.name.as_str(), it.weight, it.priority))
            .collect();
        assert_eq!(
            names,
            [
                ("azure-east", 6, 0),
                ("openai", 2, 1),
                ("openai/gpt-4.1", 1, 2),
            ]
        );
    }

    #[test]
    fn one_deployment_of_a_platform_model_can_be_picked() {
        let mut target = model("gpt-4o", 5, 0);
        target.serves = Serves::Model {
            model: "gpt-4o".into(),
            deployment: Some("openai".into()),
        };
        let flat = expand("x", &specs(&[("x", spec(vec![target]))]), &World).unwrap();
        assert_eq!(flat.len(), 1);
        assert_eq!(flat[0].weight, 5);
        assert_eq!(
            flat[0].source,
            FlatSource::Platform {
                model: "gpt-4o".into(),
                deployment: "openai".into()
            }
        );
    }

    #[test]
    fn aliases_nest_and_loops_are_named() {
        let all = specs(&[
            ("a", spec(vec![model("b", 1, 0)])),
            ("b", spec(vec![model("claude", 1, 0)])),
        ]);
        let flat = expand("a", &all, &World).unwrap();
        assert_eq!(flat[0].name, "anthropic");
        assert_eq!(flat[0].priority, 0);

        let looped = specs(&[
            ("a", spec(vec![model("b", 1, 0)])),
            ("b", spec(vec![model("a", 1, 0)])),
        ]);
        let problem = expand("a", &looped, &World).unwrap_err();
        assert_eq!(problem.field, "deployments[0].model");
        assert!(problem.message.contains("a → b → a"), "{problem}");

        let itself = specs(&[("a", spec(vec![model("a", 1, 0)]))]);
        assert_eq!(
            expand("a", &itself, &World).unwrap_err().field,
            "deployments[0].model"
        );
    }

    #[test]
    fn unknown_names_duplicates_and_depth_are_refused_with_the_field() {
        let field = |all: HashMap<String, RouteSpec>| expand("x", &all, &World).unwrap_err().field;
        assert_eq!(
            field(specs(&[("x", spec(vec![model("nope", 1, 0)]))])),
            "deployments[0].model"
        );
        let mut picked = model("gpt-4o", 1, 0);
        picked.serves = Serves::Model {
            model: "gpt-4o".into(),
            deployment: Some("nope".into()),
        };
        assert_eq!(
            field(specs(&[("x", spec(vec![model("claude", 1, 0), picked]))])),
            "deployments[1].deployment"
        );
        let own = RouteTarget {
            serves: Serves::OwnCredential {
                provider: "mock".into(),
                upstream_model: "m".into(),
            },
            weight: 1,
            priority: 0,
        };
        assert_eq!(
            field(specs(&[("x", spec(vec![own]))])),
            "deployments[0].provider"
        );
        assert_eq!(
            field(specs(&[(
                "x",
                spec(vec![model("gpt-4o", 1, 0), model("gpt-4o", 1, 1)])
            )])),
            "deployments"
        );
        let chain = specs(&[
            ("x", spec(vec![model("a1", 1, 0)])),
            ("a1", spec(vec![model("a2", 1, 0)])),
            ("a2", spec(vec![model("a3", 1, 0)])),
            ("a3", spec(vec![model("a4", 1, 0)])),
            ("a4", spec(vec![model("claude", 1, 0)])),
        ]);
        assert!(
            expand("x", &chain, &World)
                .unwrap_err()
                .message
                .contains("nest")
        );
    }

    #[test]
    fn specs_are_checked_field_by_field() {
        let good = spec(vec![model("gpt-4o", 1, 0)]);
        assert!(check_spec(&good).is_ok());
        let with = |f: fn(&mut RouteSpec)| {
            let mut it = good.clone();
            f(&mut it);
            check_spec(&it).unwrap_err().field
        };
        assert_eq!(with(|it| it.strategy = "fastest".into()), "strategy");
        assert_eq!(with(|it| it.targets.clear()), "deployments");
        assert_eq!(with(|it| it.targets[0].weight = 0), "deployments");
        assert_eq!(
            with(|it| it.targets[0].weight = 2_000_000),
            "deployments[0].weight"
        );
        assert_eq!(
            with(|it| it.targets[0].serves = Serves::Model {
                model: String::new(),
                deployment: None
            }),
            "deployments[0].model"
        );
        assert_eq!(with(|it| it.max_attempts = Some(0)), "max_attempts");
        assert_eq!(with(|it| it.timeout_ms = Some(5)), "timeout_ms");
        assert_eq!(
            with(|it| it.cache_ttl_seconds = Some(0)),
            "cache_ttl_seconds"
        );
        assert_eq!(
            with(|it| it.targets = vec![model("gpt-4o", 1, 0); 17]),
            "deployments"
        );
        assert!(check_alias("team:fast-1.0_b").is_ok());
        for bad in ["", "has space", "ünï", &"x".repeat(65), "a\"b", "a/b"] {
            assert_eq!(check_alias(bad).unwrap_err().field, "alias", "{bad}");
        }
    }
}
