//! A cap on how many requests one client address may have in flight on the endpoints anyone
//! may call without credentials (sign-up, sign-in, password reset, the OAuth token endpoint).
//!
//! Those endpoints read a body before they know who is asking, so a stranger could otherwise
//! hold any number of connections open by sending their bodies slowly (the body pace bounds
//! each one in time; this bounds how many). A refused request gets `429` in its endpoint's
//! error shape and its connection is closed, so nothing of it stays.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::AppState;

/// Requests in flight per client address.
#[derive(Debug)]
pub struct ClientSlots {
    max: u32,
    held: Mutex<HashMap<IpAddr, u32>>,
}

/// One request's place; freed when dropped.
#[derive(Debug)]
struct Slot {
    slots: Arc<ClientSlots>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

impl ClientSlots {
    /// At most `max` requests in flight per address (at least one).
    pub fn new(max: u32) -> Arc<Self> {
        Arc::new(ClientSlots {
            max: max.max(1),
            held: Mutex::new(HashMap::new()),
        })
    }

    fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: self.clone(),
            ip,
        })
    }

    /// Addresses with requests in flight (for tests and metrics).
    pub fn clients(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The middleware: takes a slot for the request's client, or answers `429` and closes.
///
/// # Errors
/// Whatever the wrapped service fails with.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(ip) = crate::auth::client_ip(req.request(), &state) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let slots = state.client_slots.clone();
    let Some(slot) = slots.acquire(ip) else {
        metrics::counter!("http_client_slots_refused_total").increment(1);
        let refusal = management::Error::TooManyRequests {
            message: format!(
                "this address has {} requests in flight already; wait for them to finish",
                slots.max
            ),
            retry_after: Duration::from_secs(1),
        };
        let mut res = if req.path().starts_with("/oauth/") {
            crate::oauth::refused(refusal)
        } else {
            crate::manage::ApiProblem::from(refusal).error_response()
        };
        res.head_mut().set_connection_type(ConnectionType::Close);
        return Ok(req.into_response(res));
    };
    let res = next.call(req).await;
    drop(slot);
    Ok(res?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_own_slots_and_they_come_back() {
        let slots = ClientSlots::new(2);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let first = slots.acquire(a).unwrap();
        let _second = slots.acquire(a).unwrap();
        assert!(
            slots.acquire(a).is_none(),
            "a third request from one address"
        );
        let _other = slots.acquire(b).unwrap();
        drop(first);
        assert!(slots.acquire(a).is_some(), "a freed slot is taken again");
        assert_eq!(slots.clients(), 2);
    }
}
