//! The map between libix connection ids and the TCP engine's, plus each
//! connection's cookie and per-batch send state. One entry per engine slot,
//! preallocated.

use libix::ConnId;

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    tcp: Option<ix_tcp::ConnId>,
    cookie: u64,
    /// The call batch in which a send on this connection was short.
    short_in: u64,
}

/// libix ids to ix-tcp ids, by slot.
#[derive(Debug)]
pub struct ConnMap {
    entries: Vec<Entry>,
}

/// The libix id of an engine connection.
pub fn lib_id(c: ix_tcp::ConnId) -> ConnId {
    ConnId::new(c.index() as u32, c.generation())
}

impl ConnMap {
    /// A map for an engine of `max_conns` connections.
    pub fn new(max_conns: usize) -> Self {
        ConnMap {
            entries: vec![Entry::default(); max_conns],
        }
    }

    /// Records a connection the application now knows; returns its libix id.
    pub fn insert(&mut self, tcp: ix_tcp::ConnId, cookie: u64) -> ConnId {
        if let Some(e) = self.entries.get_mut(tcp.index()) {
            *e = Entry {
                tcp: Some(tcp),
                cookie,
                short_in: 0,
            };
        }
        lib_id(tcp)
    }

    /// The engine id behind `id`, if it is still that connection.
    pub fn get(&self, id: ConnId) -> Option<ix_tcp::ConnId> {
        let e = self.entries.get(id.index())?;
        e.tcp.filter(|t| t.generation() == id.generation())
    }

    /// The cookie of `id` (0 if unknown).
    pub fn cookie(&self, id: ConnId) -> u64 {
        match self.get(id) {
            Some(_) => self.entries.get(id.index()).map_or(0, |e| e.cookie),
            None => 0,
        }
    }

    /// Sets the cookie of `id`.
    pub fn set_cookie(&mut self, id: ConnId, cookie: u64) {
        if self.get(id).is_some() {
            if let Some(e) = self.entries.get_mut(id.index()) {
                e.cookie = cookie;
            }
        }
    }

    /// Forgets `id` (dead, rejected, aborted).
    pub fn remove(&mut self, id: ConnId) {
        if self.get(id).is_some() {
            if let Some(e) = self.entries.get_mut(id.index()) {
                e.tcp = None;
            }
        }
    }

    /// Whether a send on `id` was short in call batch `batch`.
    pub fn was_short(&self, id: ConnId, batch: u64) -> bool {
        self.entries
            .get(id.index())
            .is_some_and(|e| e.short_in == batch)
    }

    /// Marks a short send on `id` in call batch `batch`.
    pub fn mark_short(&mut self, id: ConnId, batch: u64) {
        if let Some(e) = self.entries.get_mut(id.index()) {
            e.short_in = batch;
        }
    }
}
