"""The ``leadlife`` console command."""

from __future__ import annotations

import click

from leadlife import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadlife")
def main() -> None:
    """leadlife: a pluggable lead-lifecycle engine for B2B sales teams."""


@main.command()
@click.option("--leads", default=3000, show_default=True, help="How many synthetic leads.")
@click.option("--days", default=42, show_default=True, help="How many days of events.")
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic world.")
def demo(leads: int, days: int, seed: int) -> None:
    """Run a seeded synthetic world through the engine and print the stage funnel."""
    from leadlife.demo import World, format_funnel, run_demo

    world = World(leads=leads, days=days, seed=seed)
    click.echo(
        f"Synthetic world: {leads} leads, {days} days from {world.start:%Y-%m-%d}, seed {seed}"
    )
    result = run_demo(world)
    report = result.report
    click.echo(
        f"Ingested {report.accepted} events ({report.duplicates} duplicates, "
        f"{len(report.rejected)} rejected); {report.stage_changes} stage changes on ingest, "
        f"{result.tick_changes} from {result.ticks} daily ticks; "
        f"{result.notices} reactivation notices."
    )
    click.echo("")
    click.echo(format_funnel(result.engine))
