//! The networks and their blocks. Start at [`network`] (the `Network` type), then one
//! file per network (`inception_resnet_v2.rs` is the released model), then the blocks they
//! are built of (`basic_conv.rs`, `residual.rs`, `reduction.rs`, `pool.rs`).

pub mod basic_conv;
pub mod block;
pub mod fold;
pub mod fused;
pub mod fused_pool;
pub mod hashed;
pub mod inception_resnet_v1;
pub mod inception_resnet_v2;
pub mod inception_resnet_v2_paper;
pub mod inception_v4;
pub mod network;
pub mod pool;
pub mod reduction;
pub mod residual;
pub mod width;

pub use block::{Block, Cost, FeatureShape, InputTooSmall, NamedBlock, TrainableParams};
pub use network::{Architecture, ConfigError, LayerRow, Network, NetworkConfig, Summary, global_average_pool};
pub use residual::ResidualScale;
pub use width::Width;
