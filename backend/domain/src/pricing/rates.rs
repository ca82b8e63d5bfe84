//! What a model's tokens cost: rates per million tokens of each kind, and the charge for a
//! call's counts.

use serde::{Deserialize, Serialize};

use super::money::{Money, div_round, saturate};
use crate::llm::TokenCounts;

/// Tokens a rate is quoted for.
const TOKENS_PER_RATE: i128 = 1_000_000;

/// A model's prices per million tokens. Cached reads, cache writes and reasoning tokens are
/// billed at their own rate where the provider has one, else as the input or output tokens
/// they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rates {
    pub input: Money,
    pub output: Money,
    pub cached_input: Option<Money>,
    pub cache_write: Option<Money>,
    pub reasoning: Option<Money>,
}

impl Rates {
    /// What `counts` cost at these rates: every kind of token at its own rate, summed exactly
    /// and rounded once, half away from zero, to the nano-unit. Prompt counts include cached
    /// and cache-write tokens and completion counts include reasoning ones (as providers
    /// report them), so each is billed once.
    pub fn charge(&self, counts: &TokenCounts) -> Money {
        let tokens = |n: u64| i128::from(n);
        let rate = |m: Money| i128::from(m.nanos());
        let cached = counts.cached.min(counts.prompt);
        let written = counts.cache_write.min(counts.prompt - cached);
        let uncached = counts.prompt - cached - written;
        let reasoning = counts.reasoning.min(counts.completion);
        let visible = counts.completion - reasoning;
        let total = tokens(uncached) * rate(self.input)
            + tokens(cached) * rate(self.cached_input.unwrap_or(self.input))
            + tokens(written) * rate(self.cache_write.unwrap_or(self.input))
            + tokens(visible) * rate(self.output)
            + tokens(reasoning) * rate(self.reasoning.unwrap_or(self.output));
        Money::from_nanos(saturate(div_round(total, TOKENS_PER_RATE)))
    }

    /// Every rate changed by `basis_points` (a markup or a discount), each rounded to the
    /// nano-unit: the rates a price list shows are the ones a call is charged at.
    #[must_use]
    pub fn marked_up(&self, basis_points: i32) -> Rates {
        if basis_points == 0 {
            return *self;
        }
        Rates {
            input: self.input.marked_up(basis_points),
            output: self.output.marked_up(basis_points),
            cached_input: self.cached_input.map(|it| it.marked_up(basis_points)),
            cache_write: self.cache_write.map(|it| it.marked_up(basis_points)),
            reasoning: self.reasoning.map(|it| it.marked_up(basis_points)),
        }
    }

    /// The most a call of `prompt` tokens answering at most `max_output` can cost: every
    /// prompt token at the dearer of the input rates, every output token at the dearer of the
    /// output rates. What a budget reserves before the call.
    pub fn ceiling(&self, prompt: u64, max_output: u64) -> Money {
        let input = [self.cached_input, self.cache_write]
            .into_iter()
            .flatten()
            .fold(self.input, Money::max);
        let output = self.reasoning.map_or(self.output, |it| it.max(self.output));
        let total = i128::from(prompt) * i128::from(input.nanos())
            + i128::from(max_output) * i128::from(output.nanos());
        Money::from_nanos(saturate(div_round(total, TOKENS_PER_RATE)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn sonnet() -> Rates {
        Rates {
            input: money("3"),
            output: money("15"),
            cached_input: Some(money("0.3")),
            cache_write: Some(money("3.75")),
            reasoning: None,
        }
    }

    #[test]
    fn each_kind_of_token_is_billed_once_at_its_rate() {
        let counts = TokenCounts {
            prompt: 10_000,
            completion: 2_000,
            cached: 6_000,
            cache_write: 1_000,
            reasoning: 500,
        };
        // 3 000 × 3 + 6 000 × 0.3 + 1 000 × 3.75 + 2 000 × 15, per million.
        let expected = (3_000 * 3_000_000_000_i64
            + 6_000 * 300_000_000
            + 1_000 * 3_750_000_000
            + 2_000 * 15_000_000_000)
            / 1_000_000;
        assert_eq!(sonnet().charge(&counts).nanos(), expected);
    }

    #[test]
    fn tiny_calls_keep_their_fractions() {
        let mini = Rates {
            input: money("0.15"),
            output: money("0.6"),
            cached_input: None,
            cache_write: None,
            reasoning: None,
        };
        let counts = TokenCounts {
            prompt: 10,
            completion: 1,
            ..TokenCounts::default()
        };
        // 10 × 0.15 + 1 × 0.6 = 2.1 millionths of a dollar.
        assert_eq!(mini.charge(&counts).to_string(), "0.0000021");
        assert_eq!(mini.charge(&TokenCounts::default()), Money::ZERO);
    }

    #[test]
    fn inconsistent_counts_never_bill_a_token_twice_or_underflow() {
        let counts = TokenCounts {
            prompt: 10,
            completion: 5,
            cached: 50,
            cache_write: 50,
            reasoning: 90,
        };
        // All ten prompt tokens cached, all five completion tokens reasoning.
        assert_eq!(
            sonnet().charge(&counts).nanos(),
            (10 * 300_000_000 + 5 * 15_000_000_000) / 1_000_000
        );
    }

    #[test]
    fn a_ceiling_bounds_every_charge_it_covers() {
        let rates = sonnet();
        let ceiling = rates.ceiling(1_000, 100);
        for cached in [0, 500, 1_000] {
            let counts = TokenCounts {
                prompt: 1_000,
                completion: 100,
                cached,
                cache_write: 1_000 - cached,
                reasoning: 0,
            };
            assert!(rates.charge(&counts) <= ceiling);
        }
        assert_eq!(rates.marked_up(0), rates);
        assert_eq!(rates.marked_up(1_000).output, money("16.5"));
    }
}
