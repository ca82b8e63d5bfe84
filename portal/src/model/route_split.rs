//! How a model's calls spread over its deployments, in words: the preview the "Models and
//! routes" page shows next to each deployment.

use api_types::manage::{DeploymentView, ModelRouteView};

/// What share of calls each deployment gets first, in the order of `route.deployments`:
/// deployments of the lowest priority split the calls by the strategy; the others are
/// fallbacks. Breakers are not counted: an open one passes its share to the others.
pub fn shares(route: &ModelRouteView) -> Vec<String> {
    let Some(first) = route
        .deployments
        .iter()
        .filter(|it| !it.shadow)
        .map(|it| it.priority)
        .min()
    else {
        return Vec::new();
    };
    let tier: Vec<&DeploymentView> = route
        .deployments
        .iter()
        .filter(|it| it.priority == first && !it.shadow)
        .collect();
    let total_weight: u64 = tier.iter().map(|it| u64::from(it.weight)).sum();
    // Least cost: the cheapest of the first priority (the first listed, among equals).
    let cheapest = tier
        .iter()
        .enumerate()
        .min_by(|(i, a), (j, b)| {
            let cost = |it: &DeploymentView| it.cost.unwrap_or(f64::INFINITY);
            cost(a).total_cmp(&cost(b)).then(i.cmp(j))
        })
        .map(|(_, it)| it.name.clone());
    let mut first_in_order = true;
    route
        .deployments
        .iter()
        .map(|it| {
            if it.shadow {
                return "shadow copy".to_owned();
            }
            if it.priority != first {
                return "fallback".to_owned();
            }
            match route.strategy.as_str() {
                "weighted" | "split" if total_weight > 0 => {
                    if it.weight == 0 {
                        "fallback".to_owned()
                    } else {
                        percent(u64::from(it.weight), total_weight)
                    }
                }
                "least_cost" => {
                    if cheapest.as_deref() == Some(it.name.as_str()) {
                        "100%".to_owned()
                    } else {
                        "fallback".to_owned()
                    }
                }
                "round_robin" | "least_latency" | "weighted" => {
                    percent(1, u64::try_from(tier.len()).unwrap_or(1))
                }
                _ => {
                    if std::mem::take(&mut first_in_order) {
                        "100%".to_owned()
                    } else {
                        "fallback".to_owned()
                    }
                }
            }
        })
        .collect()
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    let tenths = (part * 1000 + whole / 2) / whole;
    if tenths.is_multiple_of(10) {
        format!("{}%", tenths / 10)
    } else {
        format!("{}.{}%", tenths / 10, tenths % 10)
    }
}

/// The words for a breaker's state.
pub fn breaker_label(state: &str) -> &'static str {
    match state {
        "closed" => "healthy",
        "open" => "breaker open",
        "half_open" => "probing",
        "disabled" => "no breaker",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(name: &str, weight: u32, priority: u32) -> DeploymentView {
        DeploymentView {
            name: name.to_owned(),
            provider: "p".to_owned(),
            model: "m".to_owned(),
            weight,
            priority,
            region: None,
            cost: None,
            own_credential: false,
            breaker: "closed".to_owned(),
            latency_ms: None,
            window_calls: 0,
            window_failures: 0,
            rpm: None,
            tpm: None,
            minute_requests: None,
            minute_tokens: None,
            shadow: false,
        }
    }

    fn route(strategy: &str, deployments: Vec<DeploymentView>) -> ModelRouteView {
        ModelRouteView {
            tenant_defined: false,
            alias: "a".to_owned(),
            strategy: strategy.to_owned(),
            max_attempts: 2,
            cache_ttl_secs: None,
            semantic_threshold: None,
            semantic_embedding_model: None,
            deployments,
        }
    }

    #[test]
    fn weights_split_the_first_priority_and_the_rest_are_fallbacks() {
        let split = shares(&route(
            "weighted",
            vec![
                deployment("a", 3, 0),
                deployment("b", 1, 0),
                deployment("c", 0, 0),
                deployment("d", 5, 1),
            ],
        ));
        assert_eq!(split, ["75%", "25%", "fallback", "fallback"]);
        let split = shares(&route(
            "weighted",
            vec![deployment("a", 1, 0), deployment("b", 2, 0)],
        ));
        assert_eq!(split, ["33.3%", "66.7%"]);
        let split = shares(&route(
            "split",
            vec![deployment("a", 90, 0), deployment("b", 10, 0)],
        ));
        assert_eq!(split, ["90%", "10%"], "an experiment's arms");
        let mut mirror = deployment("c", 5, 0);
        mirror.shadow = true;
        let split = shares(&route(
            "split",
            vec![deployment("a", 90, 0), mirror, deployment("b", 10, 0)],
        ));
        assert_eq!(
            split,
            ["90%", "shadow copy", "10%"],
            "a shadow takes no share"
        );
    }

    #[test]
    fn priority_sends_everything_to_the_first_and_others_share_equally() {
        let two = vec![
            deployment("a", 1, 0),
            deployment("b", 1, 0),
            deployment("c", 1, 2),
        ];
        assert_eq!(
            shares(&route("priority", two.clone())),
            ["100%", "fallback", "fallback"]
        );
        assert_eq!(
            shares(&route("round_robin", two.clone())),
            ["50%", "50%", "fallback"]
        );
        assert_eq!(
            shares(&route("least_latency", two)),
            ["50%", "50%", "fallback"]
        );
        assert!(shares(&route("priority", Vec::new())).is_empty());
        let mut costly = vec![
            deployment("a", 1, 0),
            deployment("b", 1, 0),
            deployment("c", 1, 0),
        ];
        costly[0].cost = Some(2.0);
        costly[1].cost = Some(0.5);
        assert_eq!(
            shares(&route("least_cost", costly)),
            ["fallback", "100%", "fallback"]
        );
        assert_eq!(breaker_label("open"), "breaker open");
    }
}
