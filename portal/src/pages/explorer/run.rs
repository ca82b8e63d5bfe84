//! Drives one explorer call: sends it, follows the answer (as it streams, or whole) into the
//! `Exchange` the response panel shows, and stops it on request.

use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::ApiError;
use crate::api::data_plane::{self, BodyReader};
use crate::model::chat_form::ChatCall;
use crate::model::chat_reply::{Exchange, Served};
use crate::model::sse::{SseDecoder, SseEvent};
use crate::state::ui::monotonic_ms;

/// The call under way and its way to stop it. Copy, so views and callbacks share it.
#[derive(Clone, Copy)]
pub struct Runner {
    pub exchange: RwSignal<Option<Exchange>>,
    abort: StoredValue<Option<web_sys::AbortController>, LocalStorage>,
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    /// A runner that stops its call when the page is left.
    pub fn new() -> Self {
        let runner = Runner {
            exchange: RwSignal::new(None),
            abort: StoredValue::new_local(None),
        };
        on_cleanup(move || runner.abort_request());
        runner
    }

    /// Whether a call is under way, tracked.
    pub fn running(self) -> bool {
        self.exchange
            .with(|it| it.as_ref().is_some_and(Exchange::running))
    }

    /// Sends `call` for `tenant`, replacing the previous exchange.
    pub fn send(self, tenant: Uuid, call: &ChatCall) {
        self.abort_request();
        let exchange = Exchange::new(call.to_json_pretty(), call.stream, monotonic_ms());
        self.exchange.set(Some(exchange));
        let Ok(controller) = web_sys::AbortController::new() else {
            self.update(|it| it.fail(ApiError::network("AbortController"), monotonic_ms()));
            return;
        };
        let signal = controller.signal();
        self.abort.set_value(Some(controller));
        let body = call.to_json();
        // The controller stays after the call ends: aborting a finished fetch does nothing.
        spawn_local(async move { self.follow(tenant, &body, &signal).await });
    }

    /// Stops the call under way; what arrived stays on screen.
    pub fn stop(self) {
        self.abort_request();
        self.update(|it| it.on_stopped(monotonic_ms()));
    }

    fn abort_request(self) {
        if let Some(Some(controller)) = self.abort.try_get_value() {
            controller.abort();
        }
    }

    fn update(self, change: impl FnOnce(&mut Exchange)) {
        // The page may be gone by the time an answer arrives.
        self.exchange.try_update(|it| {
            if let Some(exchange) = it {
                change(exchange);
            }
        });
    }

    fn still_running(self) -> bool {
        self.exchange
            .try_with_untracked(|it| it.as_ref().is_some_and(Exchange::running))
            .unwrap_or(false)
    }

    async fn follow(self, tenant: Uuid, body: &str, signal: &web_sys::AbortSignal) {
        let response = match data_plane::chat(tenant, body, signal).await {
            Ok(it) => it,
            Err(error) => return self.update(|it| it.fail(error, monotonic_ms())),
        };
        let served = Served::from_headers(|name| response.headers().get(name));
        self.update(|it| {
            it.on_status(response.status());
            it.on_served(served);
        });
        let is_stream = response
            .headers()
            .get("content-type")
            .is_some_and(|it| it.starts_with("text/event-stream"));
        if !is_stream {
            return match data_plane::text(&response).await {
                Ok(text) => self.update(|it| it.on_body(&text, monotonic_ms())),
                Err(error) => self.update(|it| it.fail(error, monotonic_ms())),
            };
        }
        let Some(reader) = BodyReader::of(&response) else {
            return self.update(|it| it.on_end(monotonic_ms()));
        };
        let mut decoder = SseDecoder::new();
        while self.still_running() {
            match reader.next().await {
                Ok(Some(bytes)) => self.apply(decoder.push(&bytes)),
                Ok(None) => {
                    self.apply(decoder.finish());
                    return self.update(|it| it.on_end(monotonic_ms()));
                }
                Err(error) => return self.update(|it| it.fail(error, monotonic_ms())),
            }
        }
    }

    fn apply(self, events: Vec<SseEvent>) {
        if events.is_empty() {
            return;
        }
        let now = monotonic_ms();
        self.update(|it| {
            for event in events {
                it.on_event(event, now);
            }
        });
    }
}
