//! Light, dark, or whatever the system says: the toggle cycles through the three and the
//! choice is remembered in the browser.

/// The person's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// The stored value (`localStorage["theme"]`), also the `data-theme` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => Theme::System,
        }
    }

    /// The toggle's next state.
    pub fn next(self) -> Self {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    /// The toggle's accessible label: what it is now.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toggle_cycles_and_round_trips() {
        let mut theme = Theme::default();
        for _ in 0..3 {
            assert_eq!(Theme::parse(Some(theme.as_str())), theme);
            theme = theme.next();
        }
        assert_eq!(theme, Theme::System);
        assert_eq!(Theme::parse(Some("neon")), Theme::System);
    }
}
