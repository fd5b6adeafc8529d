//! CPU and memory quantities.

use std::fmt;

/// CPU in millicores. `Cpu::m(250)` is a quarter of a core.
///
/// ```
/// use stackdsl::prelude::*;
/// assert_eq!(Cpu::m(250).to_string(), "250m");
/// assert_eq!(Cpu::cores(2).to_string(), "2");
/// assert_eq!(Cpu::m(1500).compose(), "1.5");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpu(u32);

impl Cpu {
    /// Millicores.
    pub const fn m(millicores: u32) -> Self {
        Cpu(millicores)
    }

    /// Whole cores.
    pub const fn cores(n: u32) -> Self {
        Cpu(n * 1000)
    }

    /// Millicores.
    pub const fn millicores(self) -> u32 {
        self.0
    }

    /// Decimal cores as Compose writes them (`0.25`, `1`, `1.5`).
    pub fn compose(self) -> String {
        let (whole, frac) = (self.0 / 1000, self.0 % 1000);
        if frac == 0 {
            whole.to_string()
        } else {
            let f = format!("{frac:03}");
            format!("{whole}.{}", f.trim_end_matches('0'))
        }
    }
}

impl fmt::Display for Cpu {
    /// Kubernetes quantity: `250m`, or whole cores when exact.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{}", self.0 / 1000)
        } else {
            write!(f, "{}m", self.0)
        }
    }
}

/// Memory in bytes, written with the largest exact binary unit.
///
/// ```
/// use stackdsl::prelude::*;
/// assert_eq!(Memory::mi(512).to_string(), "512Mi");
/// assert_eq!(Memory::gi(1).to_string(), "1Gi");
/// assert_eq!(Memory::mi(1024).compose(), "1G");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Memory(u64);

const UNITS: [(&str, &str, u64); 4] = [
    ("Ti", "T", 1 << 40),
    ("Gi", "G", 1 << 30),
    ("Mi", "M", 1 << 20),
    ("Ki", "K", 1 << 10),
];

impl Memory {
    /// Mebibytes.
    pub const fn mi(n: u64) -> Self {
        Memory(n << 20)
    }

    /// Gibibytes.
    pub const fn gi(n: u64) -> Self {
        Memory(n << 30)
    }

    /// Bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }

    fn unit(self) -> Option<(&'static str, &'static str, u64)> {
        UNITS
            .into_iter()
            .find(|(_, _, size)| self.0 != 0 && self.0.is_multiple_of(*size))
    }

    /// Compose/Docker spelling: binary units with one letter (`512M`, `1G`).
    pub fn compose(self) -> String {
        match self.unit() {
            Some((_, short, size)) => format!("{}{short}", self.0 / size),
            None => format!("{}b", self.0),
        }
    }
}

impl fmt::Display for Memory {
    /// Kubernetes quantity (`512Mi`, `1Gi`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit() {
            Some((k8s, _, size)) => write!(f, "{}{k8s}", self.0 / size),
            None => write!(f, "{}", self.0),
        }
    }
}

/// A CPU and/or memory amount.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Amount {
    /// CPU.
    pub cpu: Option<Cpu>,
    /// Memory.
    pub memory: Option<Memory>,
}

/// Requests (what the scheduler reserves) and limits (the ceiling).
///
/// ```
/// use stackdsl::prelude::*;
/// let r = Resources::requests(Cpu::m(250), Memory::mi(256)).limits(Cpu::m(500), Memory::mi(512));
/// assert_eq!(r.limits.memory, Some(Memory::mi(512)));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resources {
    /// Reserved.
    pub requests: Amount,
    /// Ceiling.
    pub limits: Amount,
}

impl Resources {
    /// Requests of `cpu` and `memory`.
    pub fn requests(cpu: Cpu, memory: Memory) -> Self {
        Resources {
            requests: Amount {
                cpu: Some(cpu),
                memory: Some(memory),
            },
            limits: Amount::default(),
        }
    }

    /// Limits of `cpu` and `memory`.
    pub fn limits(mut self, cpu: Cpu, memory: Memory) -> Self {
        self.limits = Amount {
            cpu: Some(cpu),
            memory: Some(memory),
        };
        self
    }

    /// A memory limit without a CPU limit (avoids CPU throttling of latency-sensitive work).
    pub fn memory_limit(mut self, memory: Memory) -> Self {
        self.limits.memory = Some(memory);
        self
    }
}
