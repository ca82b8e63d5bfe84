//! Who is signed in, their tenants, and the tenant the portal works on. Loaded from `/me` at
//! start and after changes that affect it (sign-in, new tenant, accepted invitation).

use api_types::manage::{TenantView, UserView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::permissions::Abilities;
use super::tenant_choice;
use crate::api::{ApiError, endpoints};

/// Where the current tenant's id is remembered between visits (not a secret).
const TENANT_STORAGE_KEY: &str = "portal.tenant";

/// The session's reactive state, provided as context by the app.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub user: RwSignal<Option<UserView>>,
    pub tenants: RwSignal<Vec<TenantView>>,
    pub current: RwSignal<Option<Uuid>>,
    /// False until the first `/me` answered (or was not needed).
    pub ready: RwSignal<bool>,
    /// Why `/me` failed, other than "not signed in".
    pub load_error: RwSignal<Option<ApiError>>,
}

impl Session {
    /// Creates the session state, provides it to the app, and loads it.
    pub fn provide() -> Self {
        let session = Session {
            user: RwSignal::new(None),
            tenants: RwSignal::new(Vec::new()),
            current: RwSignal::new(None),
            ready: RwSignal::new(false),
            load_error: RwSignal::new(None),
        };
        provide_context(session);
        crate::api::on_unauthenticated(move || session.forget());
        session.refresh();
        session
    }

    /// The session from context.
    pub fn get() -> Self {
        expect_context::<Session>()
    }

    /// Reloads the user and their tenants.
    pub fn refresh(self) {
        if !endpoints::may_have_session() {
            self.forget();
            return;
        }
        spawn_local(async move {
            match endpoints::me().await {
                Ok(me) => {
                    self.load_error.set(None);
                    self.apply_tenants(me.tenants);
                    self.user.set(Some(me.user));
                }
                Err(e) if e.is_unauthenticated() => self.forget(),
                Err(e) => self.load_error.set(Some(e)),
            }
            self.ready.set(true);
        });
    }

    fn apply_tenants(self, tenants: Vec<TenantView>) {
        let remembered = self.current.get_untracked().or_else(remembered_tenant);
        let chosen = tenant_choice::choose(&tenants, remembered);
        self.tenants.set(tenants);
        self.select(chosen);
    }

    /// Makes `tenant` the one the pages work on, and remembers it.
    pub fn select(self, tenant: Option<Uuid>) {
        if self.current.get_untracked() != tenant {
            self.current.set(tenant);
        }
        if let (Some(id), Some(storage)) = (tenant, local_storage()) {
            // Storage can be full or disabled; the choice then lasts for this visit only.
            let _ = storage.set_item(TENANT_STORAGE_KEY, &id.to_string());
        }
    }

    /// Signed out (by us or because the session ended).
    pub fn forget(self) {
        self.user.set(None);
        self.tenants.set(Vec::new());
        self.current.set(None);
        self.ready.set(true);
    }

    /// The current tenant's id, tracked.
    pub fn tenant_id(self) -> Option<Uuid> {
        self.current.get()
    }

    /// The current tenant, tracked.
    pub fn tenant(self) -> Option<TenantView> {
        let id = self.current.get()?;
        self.tenants
            .with(|all| all.iter().find(|it| it.id == id).cloned())
    }

    /// What the signed-in person may do in the current tenant, tracked.
    pub fn abilities(self) -> Abilities {
        let operator = self
            .user
            .with(|it| it.as_ref().is_some_and(|user| user.is_operator));
        Abilities::of(self.tenant().and_then(|it| it.role), operator)
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn remembered_tenant() -> Option<Uuid> {
    local_storage()?
        .get_item(TENANT_STORAGE_KEY)
        .ok()
        .flatten()?
        .parse()
        .ok()
}
