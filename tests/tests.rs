//! Integration tests: the real binary on real-shaped input. One test binary, a module per area.

mod util;

mod backfill;
mod bad_input;
mod examples_readme;
mod graph;
mod hostile;
mod input_order;
mod lineage;
mod long_running;
mod man_page;
mod ocsf_traps;
mod parquet;
mod pretty_json;
mod producer;
mod properties;
mod real_data;
mod recipes;
mod shapes;
mod shippers;
mod signals;
mod simulation;
mod streaming;
mod streams;
mod views;
