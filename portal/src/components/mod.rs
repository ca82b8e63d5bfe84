//! Reusable pieces of the portal's pages: layout and navigation, form fields with labels,
//! buttons, the scope inputs keys and service accounts share, budget rows, the confirm dialog,
//! copy-to-clipboard, one-time secrets, loading/empty/error states, toasts and SVG charts.

pub mod budget_list;
pub mod chart;
pub mod copy;
pub mod dialog;
pub mod form;
pub mod icons;
pub mod layout;
pub mod nav;
pub mod page;
pub mod scope_fields;
pub mod secret;
pub mod status;
pub mod toast;
pub mod top_bar;
