"""Rebuild src/tokenergy/catalog/grid_intensity.csv from the data two PyPI packages ship.

Carbon: codecarbon's ``data/private_infra/global_energy_mix.json`` — Our World in Data, "Carbon
intensity of electricity generation" (Ritchie, Rosado & Roser, "Energy", data adapted from Ember
and the Energy Institute), latest year per country. Water: EcoLogits'
``data/electricity_mixes.json`` ``wue`` — water consumed to generate a kWh of each country's
electricity (WRI methodology; the world average where EcoLogits flags
``electricity-mix-wue-world``). ISO 3166-1 alpha-2 codes from Debian's iso-codes.

    pip download --no-deps codecarbon==3.3.2 ecologits==0.11.3 -d wheels && unzip each wheel
    python scripts/build_grid_catalog.py CODECARBON_DIR ECOLOGITS_DIR > src/.../grid_intensity.csv
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ISO = Path("/usr/share/iso-codes/json/iso_3166-1.json")


def main(codecarbon: Path, ecologits: Path) -> None:
    carbon = json.loads((codecarbon / "data/private_infra/global_energy_mix.json").read_text())
    mixes = json.loads((ecologits / "data/electricity_mixes.json").read_text())
    water = {m["name"]: m for m in mixes["electricity_mixes"]}
    alpha2 = {c["alpha_3"]: c["alpha_2"] for c in json.loads(ISO.read_text())["3166-1"]}
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(
        [
            "iso3",
            "iso2",
            "name",
            "gco2e_per_kwh",
            "carbon_year",
            "water_l_per_kwh",
            "water_is_world_avg",
        ]
    )
    for iso3 in sorted(carbon):
        row = carbon[iso3]
        mix = water.get(iso3)
        world = bool(mix and "electricity-mix-wue-world" in (mix.get("warnings") or []))
        out.writerow(
            [
                iso3,
                alpha2[iso3],
                row["country_name"],
                row["carbon_intensity"],
                row["year"],
                mix["wue"] if mix else "",
                "true" if world else ("false" if mix else ""),
            ]
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
