//! `/api/v1/auth/*` and `/api/v1/me*`: sign-up, sign-in, passwords, the signed-in user and
//! their personal access tokens.

use actix_web::http::header::USER_AGENT;
use actix_web::web::{self, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{
    CreateTokenRequest, CreatedToken, EmailRequest, LoginRequest, LoginResponse, MeResponse, Page,
    PasswordResetRequest, Problem, SignupRequest, TokenRequest, TokenView, UserView,
};
use domain::TokenId;
use management::Signup;

use super::caller::{
    SESSION_COOKIE, caller, cleared_cookies, client_ip, csrf_cookie, request_host, session_cookie,
};
use super::{ApiProblem, PageQuery, created, json, ok, page, path_id, query, views};
use crate::AppState;

/// Create an account; a verification link is mailed.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created; verify the email address next", body = UserView),
        (status = 400, description = "Invalid email, weak password or unknown field", body = Problem),
        (status = 403, description = "Sign-up is closed, or the address's organisation requires single sign-on", body = Problem),
        (status = 409, description = "The email address has an account", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 503, description = "The email could not be sent just now", body = Problem),
    ))]
pub(crate) async fn signup(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let body: SignupRequest = json(&req, payload).await?;
    let user = state
        .manager
        .signup(
            Signup {
                email: body.email,
                password: body.password,
                display_name: body.display_name,
                invitation_token: body.invitation_token,
                host: request_host(&req, &state),
            },
            client_ip(&req, &state),
        )
        .await?;
    Ok(created(&views::user(&user)))
}

/// Verify an email address with the token from the emailed link.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 200, description = "Verified", body = UserView),
        (status = 400, description = "Invalid, used or expired token", body = Problem),
    ))]
pub(crate) async fn verify_email(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let body: TokenRequest = json(&req, payload).await?;
    let user = state
        .manager
        .verify_email(&body.token, client_ip(&req, &state))
        .await?;
    Ok(ok(&views::user(&user)))
}

/// Mail a new verification link (silently does nothing for unknown or verified addresses).
#[utoipa::path(post, path = "/api/v1/auth/resend-verification", tag = "auth", request_body = EmailRequest,
    responses(
        (status = 202, description = "Sent if the account needs it"),
        (status = 503, description = "The email could not be sent just now", body = Problem),
    ))]
pub(crate) async fn resend_verification(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let body: EmailRequest = json(&req, payload).await?;
    state
        .manager
        .resend_verification(&body.email, request_host(&req, &state).as_deref())
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Sign in; sets the HttpOnly session cookie and returns the CSRF token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "Wrong email or password", body = Problem),
        (status = 403, description = "Email address not verified, or the address's organisation requires single sign-on", body = Problem),
        (status = 429, description = "Too many attempts or account locked", body = Problem),
    ))]
pub(crate) async fn login(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let body: LoginRequest = json(&req, payload).await?;
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .and_then(|it| it.to_str().ok())
        .map(str::to_owned);
    let outcome = state
        .manager
        .login(
            &body.email,
            &body.password,
            client_ip(&req, &state),
            user_agent,
        )
        .await?;
    let lifetime = outcome.session.expires_at - outcome.session.created_at;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(
            &outcome.session_secret,
            state.secure_cookies,
            lifetime,
        ))
        .cookie(csrf_cookie(
            &outcome.session.csrf_token,
            state.secure_cookies,
            lifetime,
        ))
        .json(LoginResponse {
            user: views::user(&outcome.user),
            csrf_token: outcome.session.csrf_token,
            expires_at: outcome.session.expires_at,
        }))
}

/// Sign out: ends the session and clears the cookies.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out")),
    security(("session" = [])))]
pub(crate) async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    // Only a valid session with its CSRF token may be ended, so a forged form cannot log people out.
    caller(&req, &state).await?;
    if let Some(session) = req.cookie(SESSION_COOKIE) {
        state.manager.logout(session.value()).await?;
    }
    let mut res = HttpResponse::NoContent();
    for cookie in cleared_cookies(state.secure_cookies) {
        res.cookie(cookie);
    }
    Ok(res.finish())
}

/// Mail a password-reset link (silently does nothing for unknown addresses).
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = EmailRequest,
    responses(
        (status = 202, description = "Sent if the account exists"),
        (status = 503, description = "The email could not be sent just now", body = Problem),
    ))]
pub(crate) async fn request_password_reset(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let body: EmailRequest = json(&req, payload).await?;
    state.manager.request_password_reset(&body.email).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Set a new password with the token from the emailed link; every session ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 400, description = "Invalid token or weak password", body = Problem),
    ))]
pub(crate) async fn confirm_password_reset(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let body: PasswordResetRequest = json(&req, payload).await?;
    state
        .manager
        .reset_password(&body.token, &body.password, client_ip(&req, &state))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user and their tenants.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 401, description = "Not signed in", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn me(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenants = state.manager.tenants_of(&identity).await?;
    let partners = state.manager.partners(&identity).await?;
    Ok(ok(&MeResponse {
        user: views::user(&identity.user),
        tenants: tenants.iter().map(|(t, r)| views::tenant(t, *r)).collect(),
        partners: partners
            .iter()
            .map(|it| api_types::manage::PartnerSummary {
                id: it.id.0,
                name: it.name.clone(),
            })
            .collect(),
    }))
}

/// The caller's personal access tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "me", params(PageQuery),
    responses((status = 200, description = "Tokens, oldest first", body = Page<TokenView>)),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn list_tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let page_query: PageQuery = query(&req)?;
    let tokens = state.manager.list_tokens(&identity).await?;
    Ok(ok(&page(
        &tokens,
        &page_query,
        |it| it.id.to_string(),
        views::token,
    )?))
}

/// Create a personal access token for scripts; the secret is shown only here.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "me", request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "Created", body = CreatedToken),
        (status = 400, description = "Invalid name or expiry", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn create_token(
    req: HttpRequest,
    payload: Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let body: CreateTokenRequest = json(&req, payload).await?;
    let created_token = state
        .manager
        .create_token(&identity, &body.name, body.expires_at)
        .await?;
    Ok(created(&CreatedToken {
        token: views::token(&created_token.token),
        secret: created_token.secret,
    }))
}

/// Revoke one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{token}", tag = "me",
    params(("token" = uuid::Uuid, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token of yours", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn revoke_token(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let id: TokenId = path_id(&path, "token")?;
    state.manager.revoke_token(&identity, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
