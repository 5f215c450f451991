use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    stack_exporter::app::main(stack_exporter::cli::Flags::parse())
}
