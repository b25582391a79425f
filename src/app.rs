//! The HTML shell, the app frame and the route table.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
};

use crate::{
    api::auth::get_current_user,
    components::{app_menu::AppMenu, load::load, verify_banner::VerifyBanner, Me, RenamedTitle},
    pages::{
        account::AccountPage, activity::ActivityPage, forgot_password::ForgotPasswordPage,
        home::HomePage, login::LoginPage, not_found::NotFoundPage, organization::OrganizationPage,
        reset_password::ResetPasswordPage, signup::SignupPage, sso::SsoPage,
        sso_failed::SsoFailedPage, verify_email::VerifyEmailPage,
    },
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                // Without JavaScript the menu and the Invite people dialog are laid out to work.
                <noscript><link rel="stylesheet" href="/noscript.css" /></noscript>
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let me = load(|| (), |_| get_current_user());
    provide_context(Me(me));
    provide_context(RenamedTitle(RwSignal::new(None)));
    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css" />
        <Title formatter=|page: String| if page.is_empty() { "Gatehouse".to_owned() } else { format!("{page} · Gatehouse") } />
        <Router>
            <AppMenu />
            <main class="page">
                <VerifyBanner />
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view={Lazy::<Home>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/user/signup") view={Lazy::<Signup>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/user/login") view={Lazy::<Login>::new()} ssr=SsrMode::Async />
                    // The second step shares the login page's chunk (a chunk of its own would split
                    // the code they share into more, smaller downloads for every page).
                    <Route path=path!("/user/login/two-factor") view={Lazy::<Login>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/user/forgot-password") view={Lazy::<ForgotPassword>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/user/reset-password") view={Lazy::<ResetPassword>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/user/verify-email") view={Lazy::<VerifyEmail>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/user/account") view={Lazy::<Account>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/organization") view={Lazy::<Organization>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/organization/activity") view={Lazy::<Activity>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/organization/sso") view={Lazy::<Sso>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/sso/failed") view={Lazy::<SsoFailed>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// Declares a route whose page is built into its own wasm chunk (with `cargo leptos --split`),
/// which the browser fetches when it first shows that page, so that no page carries the code of
/// the others. The server renders it like any other route.
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_page! {
    Home => HomePage,
    Signup => SignupPage,
    Login => LoginPage,
    ForgotPassword => ForgotPasswordPage,
    ResetPassword => ResetPasswordPage,
    VerifyEmail => VerifyEmailPage,
    Account => AccountPage,
    Organization => OrganizationPage,
    Activity => ActivityPage,
    SsoFailed => SsoFailedPage,
    Sso => SsoPage,
}
