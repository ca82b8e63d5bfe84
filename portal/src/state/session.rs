//! Who is signed in, their tenants and partners, and the tenant the portal works on. Loaded from
//! `/me` at start and after changes that affect it (sign-in, new tenant, accepted invitation).
//!
//! The session itself is the HttpOnly cookie; the CSRF token is read from its readable cookie
//! on every change (`api::client`), so a session opened by single sign-on, which lands here
//! with the cookies but without a sign-in answer, works like one opened with a password.

use api_types::manage::{PartnerSummary, TenantView, UserView};
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
    /// The partners the person administers (every partner, for operators).
    pub partners: RwSignal<Vec<PartnerSummary>>,
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
            partners: RwSignal::new(Vec::new()),
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

    /// Reloads the user, their tenants and partners.
    pub fn refresh(self) {
        if !endpoints::may_have_session() {
            self.forget();
            return;
        }
        spawn_local(async move {
            match endpoints::me().await {
                Ok(me) => {
                    self.load_error.set(None);
                    let mut tenants = me.tenants;
                    // Operators' list has every tenant already.
                    if !me.user.is_operator {
                        for partner in &me.partners {
                            // A partner whose list fails only leaves its sub-tenants out of
                            // the switcher; its console still shows them and says why not.
                            if let Ok(managed) = endpoints::partner_tenants(partner.id).await {
                                tenants = tenant_choice::merge(tenants, managed);
                            }
                        }
                    }
                    self.partners.set(me.partners);
                    self.apply_tenants(tenants);
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

    /// Makes a tenant the person reaches without being a member (a partner's sub-tenant) the
    /// current one, adding it to the switcher.
    pub fn switch_to(self, tenant: TenantView) {
        let id = tenant.id;
        if self
            .tenants
            .with_untracked(|all| all.iter().all(|it| it.id != id))
        {
            self.tenants
                .update(|all| *all = tenant_choice::merge(std::mem::take(all), vec![tenant]));
        }
        self.select(Some(id));
    }

    /// Signed out (by us or because the session ended).
    pub fn forget(self) {
        crate::api::data_plane::forget_token();
        self.user.set(None);
        self.partners.set(Vec::new());
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

    /// Whether the signed-in person is a platform operator, tracked.
    pub fn is_operator(self) -> bool {
        self.user
            .with(|it| it.as_ref().is_some_and(|user| user.is_operator))
    }

    /// What the signed-in person may do in the current tenant, tracked.
    pub fn abilities(self) -> Abilities {
        let operator = self.is_operator();
        let Some(tenant) = self.tenant() else {
            return Abilities::of(None, operator);
        };
        let partners: Vec<Uuid> = self
            .partners
            .with(|all| all.iter().map(|it| it.id).collect());
        Abilities::of(
            tenant.role,
            tenant_choice::full_reach(&tenant, operator, &partners),
        )
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
