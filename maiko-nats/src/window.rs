//! The inbound bridge's memory of the messages it has handled: a bounded
//! window of message ids, oldest forgotten first.

use std::{
    collections::{HashSet, VecDeque},
    sync::Arc,
};

/// The last `capacity` ids remembered, in insertion order.
#[derive(Debug)]
pub(crate) struct Window {
    capacity: usize,
    order: VecDeque<Arc<str>>,
    members: HashSet<Arc<str>>,
}

impl Window {
    /// A window of at least one id.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            order: VecDeque::new(),
            members: HashSet::new(),
        }
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.members.contains(id)
    }

    /// Remember `id`, forgetting the oldest id if the window is full.
    pub(crate) fn insert(&mut self, id: &Arc<str>) {
        if self.members.contains(id) {
            return;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.members.remove(&oldest);
        }
        self.order.push_back(Arc::clone(id));
        self.members.insert(Arc::clone(id));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_first() {
        let [a, b, c]: [Arc<str>; 3] = ["a".into(), "b".into(), "c".into()];
        let mut window = Window::new(2);
        window.insert(&a);
        window.insert(&b);
        window.insert(&a); // already there: no effect on the order
        assert!(window.contains("a") && window.contains("b"));
        window.insert(&c);
        assert!(!window.contains("a"));
        assert!(window.contains("b") && window.contains("c"));
        assert_eq!(window.len(), 2);
    }
}
