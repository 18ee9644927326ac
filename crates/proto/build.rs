//! Compiles `proto/conference.proto` with `protox` (pure Rust), so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/conference.proto");
    let descriptors = protox::compile(["proto/conference.proto"], ["proto"])?;
    prost_build::Config::new()
        // Chat, transparent data: hand the received buffer on without copying it.
        .bytes(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
