//! Listening ports: the passive-open side, each with its SYN queue and accept
//! backlog counts (the connections themselves live in the engine's slab).

/// One listening port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    /// The port.
    pub port: u16,
    /// Connections in SYN_RECEIVED from this listener.
    pub syn_queue: usize,
    /// Established connections not yet accepted by the application.
    pub backlog: usize,
}

/// The listeners, looked up by port (a short array: few ports listen per core).
#[derive(Debug)]
pub struct Listeners {
    list: Vec<Listener>,
    max: usize,
}

impl Listeners {
    /// Room for `max` listeners, reserved now.
    pub fn new(max: usize) -> Self {
        Listeners {
            list: Vec::with_capacity(max),
            max,
        }
    }

    /// Starts listening on `port`; false if already listening or full.
    pub fn add(&mut self, port: u16) -> Result<(), crate::TcpError> {
        if self.get(port).is_some() {
            return Err(crate::TcpError::PortInUse);
        }
        if self.list.len() >= self.max {
            return Err(crate::TcpError::TooManyListeners);
        }
        self.list.push(Listener {
            port,
            syn_queue: 0,
            backlog: 0,
        });
        Ok(())
    }

    /// Stops listening on `port`; whether it was.
    pub fn remove(&mut self, port: u16) -> bool {
        let before = self.list.len();
        self.list.retain(|l| l.port != port);
        self.list.len() != before
    }

    /// The listener on `port`.
    #[inline]
    pub fn get(&self, port: u16) -> Option<&Listener> {
        self.list.iter().find(|l| l.port == port)
    }

    /// The listener on `port`, mutably.
    #[inline]
    pub fn get_mut(&mut self, port: u16) -> Option<&mut Listener> {
        self.list.iter_mut().find(|l| l.port == port)
    }

    /// Every listener.
    pub fn iter(&self) -> impl Iterator<Item = &Listener> {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_find_remove_bounded() {
        let mut l = Listeners::new(2);
        l.add(80).unwrap();
        assert_eq!(l.add(80), Err(crate::TcpError::PortInUse));
        l.add(81).unwrap();
        assert_eq!(l.add(82), Err(crate::TcpError::TooManyListeners));
        l.get_mut(81).unwrap().syn_queue += 1;
        assert_eq!(l.get(81).unwrap().syn_queue, 1);
        assert!(l.remove(80));
        assert!(!l.remove(80));
        assert_eq!(l.iter().count(), 1);
    }
}
