//! The behaviour every [`SharedLimiter`] must show, as reusable async test bodies: Redis's
//! (`store-redis`) and the gateway's in-process one run the same suite through
//! [`limiter_contract_tests!`](crate::limiter_contract_tests).

#![expect(clippy::unwrap_used, reason = "contract tests fail loudly")]

use async_trait::async_trait;

use super::arithmetic::{rolling, sliding_retry, sliding_used};
use super::{Admission, Bucket, Counter, DAY_MS, PERIOD_GRACE_MS, Pending, SharedLimiter, Window};

const HOUR_MS: u64 = 3_600_000;

/// What a test needs of an implementation.
#[async_trait]
pub trait Harness: Send + Sync {
    fn limiter(&self) -> &dyn SharedLimiter;
    /// A counter name of this test's own, all with one hash tag.
    fn key(&self, name: &str) -> String;
    /// Lets `ms` pass on the counters' clock.
    async fn advance(&self, ms: u64);
}

/// Expands to one `#[tokio::test]` per contract test, each on a fresh harness from
/// `$make().await` (`Option<impl Harness>`; `None` skips, for a server that is not reachable on
/// a developer machine: the factory must say so loudly, and must fail under CI).
#[macro_export]
macro_rules! limiter_contract_tests {
    ($make:path) => {
        $crate::limiter_contract_tests!(@each $make;
            admission_is_all_or_nothing,
            sliding_windows_weigh_the_previous_bucket,
            settlements_move_the_reserved_bucket_up_and_down,
            settling_a_bucket_that_no_longer_counts_changes_nothing,
            in_flight_slots_are_released_by_call_id,
            an_expired_lease_frees_its_slot,
            periods_count_until_their_end,
            a_new_period_is_not_changed_by_the_last_ones_settlements,
            rolling_windows_sum_their_days,
            remaining_and_reset_describe_the_window,
            a_zero_limit_refuses_every_take,
            a_zero_take_only_checks,
            adjustments_apply_in_order_before_the_admission,
            a_batch_sent_again_is_applied_once
        );
    };
    (@each $make:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(harness) = $make().await else { return };
                $crate::limits::contract::$name(&harness).await;
            }
        )*
    };
}

fn counter(key: &str, window: Window, limit: u64, take: u64) -> Counter {
    Counter {
        key: key.into(),
        window,
        limit,
        take,
    }
}

fn sliding(span_ms: u64) -> Window {
    Window::Sliding { span_ms }
}

async fn admit(h: &dyn Harness, pending: &[Pending], counters: &[Counter]) -> Admission {
    admit_as(h, pending, counters, "call").await
}

async fn admit_as(
    h: &dyn Harness,
    pending: &[Pending],
    counters: &[Counter],
    call: &str,
) -> Admission {
    let res = h.limiter().admit(pending, counters, call).await.unwrap();
    assert_eq!(res.counters.len(), counters.len(), "one state per counter");
    res
}

/// The counters' clock.
async fn now(h: &dyn Harness) -> u64 {
    admit(h, &[], &[]).await.now_ms
}

/// What `counter` holds now, without taking.
async fn used(h: &dyn Harness, counter: &Counter) -> u64 {
    let mut check = counter.clone();
    check.take = 0;
    let res = admit_as(h, &[], &[check], "check").await;
    assert!(res.is_admitted(), "a check is never refused");
    res.counters[0].used
}

pub async fn admission_is_all_or_nothing(h: &impl Harness) {
    let (a, b, c) = (h.key("a"), h.key("b"), h.key("c"));
    let counters = [
        counter(&a, sliding(HOUR_MS), 10, 5),
        counter(&b, sliding(HOUR_MS), 3, 5),
        counter(&c, Window::InFlight { lease_ms: 60_000 }, 1, 1),
    ];
    let res = admit(h, &[], &counters).await;
    let refusal = res.refused.clone().unwrap();
    assert_eq!(refusal.index, 1, "the first counter that refused is named");
    assert!(refusal.exceeds_limit, "5 never fits under 3");
    assert!(
        res.counters
            .iter()
            .all(|it| it.used == 0 && it.bucket.is_none())
    );
    assert_eq!(
        used(h, &counters[0]).await,
        0,
        "nothing taken from the others"
    );
    assert_eq!(used(h, &counters[2]).await, 0, "no slot held");

    let counters = [
        counter(&a, sliding(HOUR_MS), 10, 5),
        counter(&b, sliding(HOUR_MS), 3, 2),
        counter(&c, Window::InFlight { lease_ms: 60_000 }, 1, 1),
    ];
    let res = admit(h, &[], &counters).await;
    assert!(res.is_admitted());
    let used: Vec<u64> = res.counters.iter().map(|it| it.used).collect();
    assert_eq!(used, [5, 2, 1]);
    let again = admit_as(h, &[], &counters, "other").await;
    assert_eq!(again.refused.unwrap().index, 1, "b is now 2 of 3");
    assert_eq!(again.counters[0].used, 5, "a kept what the first call took");
}

pub async fn sliding_windows_weigh_the_previous_bucket(h: &impl Harness) {
    let key = h.key("tpm");
    let span = HOUR_MS;
    let index = now(h).await / span;
    h.limiter()
        .settle(&[Pending::Settle {
            key: key.as_str().into(),
            bucket: Bucket::Sliding {
                span_ms: span,
                index: index - 1,
            },
            delta: 600,
        }])
        .await
        .unwrap();
    let res = admit(h, &[], &[counter(&key, sliding(span), 10_000, 10)]).await;
    assert!(res.is_admitted());
    let into = res.now_ms % span;
    assert_eq!(res.counters[0].used, sliding_used(600, 10, span, into));
    assert_eq!(
        res.counters[0].bucket,
        Some(Bucket::Sliding {
            span_ms: span,
            index
        }),
        "the take landed in the current bucket"
    );

    // Refused in the first half of the hour, admitted in the second: either way the answer
    // is the shared arithmetic.
    let (limit, take) = (300, 5);
    let res = admit(h, &[], &[counter(&key, sliding(span), limit, take)]).await;
    let into = res.now_ms % span;
    let expected = sliding_used(600, 10, span, into);
    if expected + take <= limit {
        assert!(res.is_admitted(), "late in the hour the estimate fits");
        assert_eq!(res.counters[0].used, expected + take);
    } else {
        assert_eq!(res.counters[0].used, expected);
        let refusal = res.refused.unwrap();
        assert_eq!(
            Some(refusal.retry_after_ms),
            sliding_retry(600, 10, span, into, limit, take)
        );
        assert!(
            refusal.retry_after_ms < span - into,
            "the previous bucket slides out first"
        );
    }
}

pub async fn settlements_move_the_reserved_bucket_up_and_down(h: &impl Harness) {
    let now = now(h).await;
    let windows = [
        sliding(HOUR_MS),
        Window::Period {
            id: "2026-12".into(),
            ends_at_ms: now + HOUR_MS,
        },
        Window::Rolling { days: 7 },
    ];
    for (i, window) in windows.into_iter().enumerate() {
        let key = h.key(&format!("budget{i}"));
        let c = counter(&key, window, 1_000, 100);
        let res = admit(h, &[], std::slice::from_ref(&c)).await;
        let bucket = res.counters[0].bucket.clone().unwrap();
        let settle = |delta| Pending::Settle {
            key: key.as_str().into(),
            bucket: bucket.clone(),
            delta,
        };
        // Carried by the next admission (here a check).
        let res = admit(
            h,
            &[settle(50)],
            &[counter(&key, c.window.clone(), 1_000, 0)],
        )
        .await;
        assert_eq!(res.counters[0].used, 150, "{c:?}");
        h.limiter().settle(&[settle(-120)]).await.unwrap();
        assert_eq!(used(h, &c).await, 30, "{c:?}");
        h.limiter().settle(&[settle(-1_000)]).await.unwrap();
        assert_eq!(used(h, &c).await, 0, "never below zero: {c:?}");
        h.limiter().settle(&[settle(7)]).await.unwrap();
        assert_eq!(used(h, &c).await, 7, "{c:?}");
    }
}

pub async fn settling_a_bucket_that_no_longer_counts_changes_nothing(h: &impl Harness) {
    let now = now(h).await;
    let stale = [
        Bucket::Sliding {
            span_ms: HOUR_MS,
            index: now / HOUR_MS - 2,
        },
        Bucket::Period {
            id: "past".into(),
            ends_at_ms: now - PERIOD_GRACE_MS - 1,
        },
        Bucket::Rolling {
            days: 3,
            day: now / DAY_MS - 3,
        },
    ];
    for (i, bucket) in stale.into_iter().enumerate() {
        let key = h.key(&format!("old{i}"));
        h.limiter()
            .settle(&[Pending::Settle {
                key: key.as_str().into(),
                bucket: bucket.clone(),
                delta: 500,
            }])
            .await
            .unwrap();
        let window = match bucket {
            Bucket::Sliding { span_ms, .. } => sliding(span_ms),
            Bucket::Period { id, ends_at_ms } => Window::Period { id, ends_at_ms },
            Bucket::Rolling { days, .. } => Window::Rolling { days },
        };
        assert_eq!(used(h, &counter(&key, window, 10, 0)).await, 0);
    }
    // Giving back what a counter that is gone held does not create it.
    let fresh = h.key("fresh");
    h.limiter()
        .settle(&[Pending::Settle {
            key: fresh.as_str().into(),
            bucket: Bucket::Sliding {
                span_ms: HOUR_MS,
                index: now / HOUR_MS,
            },
            delta: -5,
        }])
        .await
        .unwrap();
    assert_eq!(used(h, &counter(&fresh, sliding(HOUR_MS), 10, 0)).await, 0);
}

pub async fn in_flight_slots_are_released_by_call_id(h: &impl Harness) {
    let key = h.key("concurrent");
    let c = counter(&key, Window::InFlight { lease_ms: 60_000 }, 2, 1);
    let one = std::slice::from_ref(&c);
    assert_eq!(admit_as(h, &[], one, "a").await.counters[0].used, 1);
    let b = admit_as(h, &[], one, "b").await;
    assert!(b.is_admitted());
    assert_eq!((b.counters[0].used, b.counters[0].remaining), (2, 0));
    assert_eq!(
        b.counters[0].bucket, None,
        "slots are released, not settled"
    );

    let refused = admit_as(h, &[], one, "c").await;
    let refusal = refused.refused.unwrap();
    assert!(!refusal.exceeds_limit);
    assert!(
        refusal.retry_after_ms > 59_000 && refusal.retry_after_ms <= 60_000,
        "the earliest lease: {refusal:?}"
    );

    let release = Pending::Release {
        key: key.as_str().into(),
        member: "a".into(),
    };
    let c_in = admit_as(h, std::slice::from_ref(&release), one, "c").await;
    assert!(c_in.is_admitted(), "a's release rode on c's admission");
    assert_eq!(c_in.counters[0].used, 2);
    h.limiter().settle(&[release]).await.unwrap();
    assert_eq!(used(h, &c).await, 2, "releasing twice frees nothing more");
}

pub async fn an_expired_lease_frees_its_slot(h: &impl Harness) {
    let key = h.key("leased");
    let c = counter(&key, Window::InFlight { lease_ms: 150 }, 1, 1);
    let one = std::slice::from_ref(&c);
    assert!(admit_as(h, &[], one, "dead-node-call").await.is_admitted());
    let refused = admit_as(h, &[], one, "next").await;
    assert!(refused.refused.unwrap().retry_after_ms <= 150);
    h.advance(300).await;
    let res = admit_as(h, &[], one, "next").await;
    assert!(res.is_admitted(), "the lease ran out");
    assert_eq!(res.counters[0].used, 1);
}

pub async fn periods_count_until_their_end(h: &impl Harness) {
    let key = h.key("monthly");
    let ends_at_ms = now(h).await + HOUR_MS;
    let window = Window::Period {
        id: "2026-12".into(),
        ends_at_ms,
    };
    let res = admit(h, &[], &[counter(&key, window.clone(), 100, 60)]).await;
    assert!(res.is_admitted());
    assert_eq!((res.counters[0].used, res.counters[0].remaining), (60, 40));
    assert_eq!(res.counters[0].reset_ms, ends_at_ms - res.now_ms);

    let res = admit(h, &[], &[counter(&key, window.clone(), 100, 60)]).await;
    let refusal = res.refused.clone().unwrap();
    assert_eq!(
        refusal.retry_after_ms,
        ends_at_ms - res.now_ms,
        "the period's end"
    );
    assert!(!refusal.exceeds_limit);
    assert_eq!(res.counters[0].used, 60);

    let next = Window::Period {
        id: "2027-01".into(),
        ends_at_ms: ends_at_ms + HOUR_MS,
    };
    assert_eq!(
        used(h, &counter(&key, next, 100, 0)).await,
        0,
        "a new period"
    );
    let too_much = admit(h, &[], &[counter(&key, window, 100, 101)]).await;
    assert!(too_much.refused.unwrap().exceeds_limit);
}

/// A call of the last period settled after the next one started (it ended after midnight)
/// changes nothing the next period counts.
pub async fn a_new_period_is_not_changed_by_the_last_ones_settlements(h: &impl Harness) {
    let key = h.key("periods");
    let ends_at_ms = now(h).await + HOUR_MS;
    let last = Window::Period {
        id: "2026-12".into(),
        ends_at_ms,
    };
    let next = Window::Period {
        id: "2027-01".into(),
        ends_at_ms: ends_at_ms + HOUR_MS,
    };
    let taken = admit(h, &[], &[counter(&key, last, 100, 60)]).await;
    let last_bucket = taken.counters[0].bucket.clone().unwrap();
    let taken = admit(h, &[], &[counter(&key, next.clone(), 100, 10)]).await;
    assert_eq!(taken.counters[0].used, 10, "a new period starts at 0");
    let next_bucket = taken.counters[0].bucket.clone().unwrap();
    let settle = |bucket: &Bucket, delta: i64| Pending::Settle {
        key: key.as_str().into(),
        bucket: bucket.clone(),
        delta,
    };
    h.limiter()
        .settle(&[settle(&last_bucket, 30), settle(&last_bucket, -90)])
        .await
        .unwrap();
    assert_eq!(used(h, &counter(&key, next.clone(), 100, 0)).await, 10);
    h.limiter()
        .settle(&[settle(&next_bucket, 5)])
        .await
        .unwrap();
    assert_eq!(used(h, &counter(&key, next, 100, 0)).await, 15);
}

pub async fn rolling_windows_sum_their_days(h: &impl Harness) {
    let key = h.key("rolling");
    let today = now(h).await / DAY_MS;
    let seed = |day: u64, delta: i64| Pending::Settle {
        key: key.as_str().into(),
        bucket: Bucket::Rolling { days: 3, day },
        delta,
    };
    h.limiter()
        .settle(&[
            seed(today - 1, 30),
            seed(today - 2, 50),
            seed(today - 3, 1_000),
        ])
        .await
        .unwrap();
    let window = Window::Rolling { days: 3 };
    let res = admit(h, &[], &[counter(&key, window.clone(), 100, 5)]).await;
    assert!(res.is_admitted());
    assert_eq!(res.counters[0].used, 85, "the day that left is not counted");
    assert_eq!(res.counters[0].reset_ms, (today + 3) * DAY_MS - res.now_ms);
    assert_eq!(
        res.counters[0].bucket,
        Some(Bucket::Rolling {
            days: 3,
            day: today
        })
    );

    let res = admit(h, &[], &[counter(&key, window, 100, 20)]).await;
    let refusal = res.refused.unwrap();
    let expected = rolling(
        &[(today - 2, 50), (today - 1, 30), (today, 5)],
        3,
        res.now_ms,
        100,
        20,
    );
    assert_eq!(res.counters[0].used, expected.0);
    assert_eq!(Some(refusal.retry_after_ms), expected.2);
    assert_eq!(
        refusal.retry_after_ms,
        (today + 1) * DAY_MS - res.now_ms,
        "when the oldest day leaves"
    );
}

pub async fn remaining_and_reset_describe_the_window(h: &impl Harness) {
    let span = HOUR_MS;
    let key = h.key("rpm");
    let res = admit(h, &[], &[counter(&key, sliding(span), 10, 4)]).await;
    let state = &res.counters[0];
    assert_eq!((state.used, state.remaining), (4, 6));
    let into = res.now_ms % span;
    assert_eq!(
        state.reset_ms,
        (span - into) + span,
        "after the bucket slides out"
    );

    let empty = admit(h, &[], &[counter(&h.key("idle"), sliding(span), 10, 0)]).await;
    assert_eq!(
        (
            empty.counters[0].used,
            empty.counters[0].remaining,
            empty.counters[0].reset_ms
        ),
        (0, 10, 0)
    );

    let slots = h.key("slots");
    let res = admit(
        h,
        &[],
        &[counter(&slots, Window::InFlight { lease_ms: 30_000 }, 3, 1)],
    )
    .await;
    let state = &res.counters[0];
    assert_eq!((state.used, state.remaining), (1, 2));
    assert!(state.reset_ms > 29_000 && state.reset_ms <= 30_000);

    let over = admit(h, &[], &[counter(&key, sliding(span), 3, 0)]).await;
    assert_eq!(
        (over.counters[0].used, over.counters[0].remaining),
        (4, 0),
        "remaining is floored at 0 when a lower limit is asked"
    );
}

pub async fn a_zero_limit_refuses_every_take(h: &impl Harness) {
    let now = now(h).await;
    let windows = [
        sliding(60_000),
        Window::Period {
            id: "p".into(),
            ends_at_ms: now + HOUR_MS,
        },
        Window::Rolling { days: 30 },
        Window::InFlight { lease_ms: 1_000 },
    ];
    for (i, window) in windows.into_iter().enumerate() {
        let key = h.key(&format!("zero{i}"));
        let res = admit(h, &[], &[counter(&key, window.clone(), 0, 1)]).await;
        let refusal = res.refused.unwrap();
        assert!(refusal.exceeds_limit, "{window:?}");
        assert!(refusal.retry_after_ms >= 1, "{window:?}");
        assert!(
            admit(h, &[], &[counter(&key, window.clone(), 0, 0)])
                .await
                .is_admitted(),
            "a check passes: {window:?}"
        );
    }
}

pub async fn a_zero_take_only_checks(h: &impl Harness) {
    let key = h.key("full");
    let full = admit(h, &[], &[counter(&key, sliding(HOUR_MS), 3, 3)]).await;
    assert!(full.is_admitted());
    let check = admit(h, &[], &[counter(&key, sliding(HOUR_MS), 3, 0)]).await;
    assert!(check.is_admitted(), "a check of a full counter passes");
    assert_eq!(
        (check.counters[0].used, check.counters[0].remaining),
        (3, 0)
    );
    let refused = admit(h, &[], &[counter(&key, sliding(HOUR_MS), 3, 1)]).await;
    let refusal = refused.refused.unwrap();
    assert!(refusal.retry_after_ms >= 1 && !refusal.exceeds_limit);

    let slots = h.key("slots");
    let c = counter(&slots, Window::InFlight { lease_ms: 60_000 }, 1, 1);
    assert!(
        admit_as(h, &[], std::slice::from_ref(&c), "a")
            .await
            .is_admitted()
    );
    assert_eq!(used(h, &c).await, 1, "a check holds no slot");
}

pub async fn adjustments_apply_in_order_before_the_admission(h: &impl Harness) {
    let key = h.key("ordered");
    let c = counter(&key, sliding(HOUR_MS), 10, 10);
    let res = admit(h, &[], std::slice::from_ref(&c)).await;
    let bucket = res.counters[0].bucket.clone().unwrap();
    let settle = |delta| Pending::Settle {
        key: key.as_str().into(),
        bucket: bucket.clone(),
        delta,
    };
    // Without the adjustments first, 10 + 4 would not fit under 10.
    let res = admit(
        h,
        &[settle(-10), settle(3)],
        &[counter(&key, sliding(HOUR_MS), 10, 4)],
    )
    .await;
    assert!(res.is_admitted());
    assert_eq!(res.counters[0].used, 7);
    // A decrease below zero and then an increase: the floor applies at each step.
    h.limiter()
        .settle(&[settle(-100), settle(2)])
        .await
        .unwrap();
    assert_eq!(used(h, &c).await, 2);
}

/// A batch re-sent because its reply was lost (carried by an admission or sent alone) changes
/// the counts once; another batch with the same adjustments applies again; a batch's mark
/// covers only the adjustments up to the next mark.
pub async fn a_batch_sent_again_is_applied_once(h: &impl Harness) {
    let key = h.key("batched");
    let tag = super::hash_tag(&key).to_owned();
    let c = counter(&key, sliding(HOUR_MS), 1_000_000, 100);
    let res = admit(h, &[], std::slice::from_ref(&c)).await;
    let bucket = res.counters[0].bucket.clone().unwrap();
    let settle = |delta| Pending::Settle {
        key: key.as_str().into(),
        bucket: bucket.clone(),
        delta,
    };
    let mark = |id: &str| Pending::Batch {
        key: super::batch_key(&tag, id),
    };
    let check = counter(&key, sliding(HOUR_MS), 1_000_000, 0);
    let first = [mark("b1"), settle(50)];
    assert_eq!(
        admit(h, &first, std::slice::from_ref(&check))
            .await
            .counters[0]
            .used,
        150
    );
    assert_eq!(
        admit(h, &first, std::slice::from_ref(&check))
            .await
            .counters[0]
            .used,
        150,
        "the same batch again changes nothing"
    );
    h.limiter().settle(&first).await.unwrap();
    assert_eq!(used(h, &check).await, 150, "nor when sent alone");
    // A new batch applies; a second mark in the same call starts a batch of its own.
    let both = [mark("b1"), settle(1), mark("b2"), settle(-30)];
    assert_eq!(
        admit(h, &both, std::slice::from_ref(&check)).await.counters[0].used,
        120,
        "b1 skipped, b2 applied"
    );
    assert_eq!(
        admit(h, &both, std::slice::from_ref(&check)).await.counters[0].used,
        120
    );
    // Adjustments before any mark are not a batch: they apply every time.
    let unmarked = [settle(5)];
    admit(h, &unmarked, &[]).await;
    admit(h, &unmarked, &[]).await;
    assert_eq!(used(h, &check).await, 130);
}
