//! [`Network`] as a burn [`Module`]: a run-time choice of architecture that burn's own
//! machinery (optimizers, burn-train's `Learner`, records, device moves) takes like any
//! derived module. Every method forwards to the network the enum holds.

use burn::module::{Content, Devices, ModuleDisplay, ModuleDisplayDefault, ModuleMapper, ModuleVisitor};
use burn::prelude::*;

use super::{Network, each_network};

/// Rebuilds the same variant around `$body`, with `$n` bound to the wrapped network.
macro_rules! rewrap {
    ($net:expr, $n:ident => $body:expr) => {
        match $net {
            Network::InceptionResnetV2($n) => Network::InceptionResnetV2($body),
            Network::InceptionV4($n) => Network::InceptionV4($body),
            Network::InceptionResnetV1($n) => Network::InceptionResnetV1($body),
            Network::InceptionResnetV2Paper($n) => Network::InceptionResnetV2Paper($body),
        }
    };
}

impl Module for Network {
    fn collect_devices(&self, devices: Devices) -> Devices {
        each_network!(self, n => n.collect_devices(devices))
    }

    fn fork(self, device: &Device) -> Self {
        rewrap!(self, n => n.fork(device))
    }

    fn to_device(self, device: &Device) -> Self {
        rewrap!(self, n => Module::to_device(n, device))
    }

    fn train(self) -> Self {
        rewrap!(self, n => n.train())
    }

    fn valid(&self) -> Self {
        rewrap!(self, n => n.valid())
    }

    fn materialize(self) -> Self {
        rewrap!(self, n => n.materialize())
    }

    fn visit<V: ModuleVisitor>(&self, visitor: &mut V) {
        each_network!(self, n => Module::visit(n, visitor))
    }

    fn map<M: ModuleMapper>(self, mapper: &mut M) -> Self {
        rewrap!(self, n => Module::map(n, mapper))
    }
}

impl ModuleDisplayDefault for Network {
    fn content(&self, content: Content) -> Option<Content> {
        each_network!(self, n => n.content(content))
    }

    fn num_params(&self) -> usize {
        each_network!(self, n => Module::num_params(n))
    }
}

impl ModuleDisplay for Network {}
