//! Short confirmations and failures shown in a corner, newest last, each dismissable.

/// How a toast looks and how urgently screen readers announce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub text: String,
}

/// The toasts on screen. At most `LIMIT`: a burst of failures must not cover the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToastQueue {
    next_id: u64,
    pub items: Vec<Toast>,
}

impl ToastQueue {
    pub const LIMIT: usize = 4;

    /// Adds a toast and returns its id, for dismissing it later.
    pub fn push(&mut self, kind: ToastKind, text: impl Into<String>) -> u64 {
        self.next_id += 1;
        self.items.push(Toast {
            id: self.next_id,
            kind,
            text: text.into(),
        });
        if self.items.len() > Self::LIMIT {
            self.items.remove(0);
        }
        self.next_id
    }

    pub fn dismiss(&mut self, id: u64) {
        self.items.retain(|it| it.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_toast_makes_room() {
        let mut queue = ToastQueue::default();
        let first = queue.push(ToastKind::Success, "one");
        for n in 0..ToastQueue::LIMIT {
            queue.push(ToastKind::Error, format!("{n}"));
        }
        assert_eq!(queue.items.len(), ToastQueue::LIMIT);
        assert!(queue.items.iter().all(|it| it.id != first));
        let last = queue.items[ToastQueue::LIMIT - 1].id;
        queue.dismiss(last);
        assert_eq!(queue.items.len(), ToastQueue::LIMIT - 1);
    }
}
