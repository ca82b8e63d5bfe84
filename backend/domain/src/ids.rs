//! Typed identifiers, so a tenant id can never be passed where a key id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A tenant: the unit of isolation, billing and policy.
    TenantId
);
uuid_id!(
    /// An API key's id (not its secret).
    ApiKeyId
);
uuid_id!(
    /// One usage record; generated at the gateway so replays are idempotent.
    UsageId
);
uuid_id!(
    /// One request through the data plane, echoed in `x-request-id`.
    RequestId
);
uuid_id!(
    /// A person with a portal login.
    UserId
);
uuid_id!(
    /// An invitation to join a tenant.
    InvitationId
);
uuid_id!(
    /// A personal access token's id (not its secret).
    TokenId
);
uuid_id!(
    /// One audit event.
    AuditEventId
);
uuid_id!(
    /// A stored provider credential.
    CredentialId
);
uuid_id!(
    /// A service account (also its OAuth client id).
    ServiceAccountId
);
uuid_id!(
    /// A partner (reseller with its own branding and sub-tenants).
    PartnerId
);
uuid_id!(
    /// A budget alert (also its webhook delivery's id).
    AlertId
);
uuid_id!(
    /// A correction to a tenant's bill (a credit or an adjustment).
    AdjustmentId
);
uuid_id!(
    /// A tenant's invoice for a billing period.
    InvoiceId
);
uuid_id!(
    /// A top-up of a tenant's prepaid credit.
    TopUpId
);
