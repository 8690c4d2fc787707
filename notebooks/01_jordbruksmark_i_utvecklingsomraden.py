# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Jordbruksmark i översiktsplanens utvecklingsområden
#
# Den här anteckningsboken går igenom analysen bakom mål **3A** i Kommunstyrelsens
# uppdragsplan 2024:
#
# > Jordbruksmark värnas genom att andelen jordbruksmark i översiktsplanens
# > utvecklingsområden minskar i jämförelse med översiktsplanen från 2017.
#
# Varje steg anropar opjords egna funktioner (paketet `pipeline`), samma som kommandot
# `opjord run` använder. Inget räknas om här: siffrorna blir desamma som i
# [målrapporten](../reports/uppfoljning_3a.html) och på [webbkartorna](../maps/index.html),
# som båda skrivs i steg 7.
#
# Så här kör du: *Run → Run All Cells*. Med den medföljande konfigurationen `opjord.toml`
# räknar anteckningsboken på **syntetiska demodata**, inte på Norrköpings verkliga lager.
# För kommunens egna lager: ändra sökvägen i cellen nedan, eller sätt miljövariabeln
# `OPJORD_CONFIG` innan du startar Jupyter.

# %%
# Konfigurationsfilen (relativ till mappen notebooks/, där Jupyter kör anteckningsboken).
import os
from pathlib import Path

CONFIG = Path(os.environ.get("OPJORD_CONFIG", "../opjord.toml"))

# %%
import logging
from dataclasses import replace
from functools import partial

import pandas as pd
from IPython.display import Image, display

from pipeline import fmt
from pipeline.analyse import (
    agricultural_sources,
    analyse,
    inspect_inputs,
    pieces_frame,
    read_inputs,
)
from pipeline.config import load_config
from pipeline.export import areas_table, build_summary, write_outputs
from pipeline.indicators import M2_PER_HA
from pipeline.overlay import CLASS, build_coverage, clip
from pipeline.report import build_report, citable_sentence
from pipeline.report.figures import share_chart
from pipeline.results import area_columns
from pipeline.webmap import build_maps, overview_map, status_sv

# Pipelinens loggrader (vad som lästes, lagades och räknades) visas under cellerna.
logging.basicConfig(level=logging.WARNING, format="%(message)s", force=True)
logging.getLogger("pipeline").setLevel(logging.INFO)
# Tabeller med decimalkomma och två decimaler.
pd.set_option("styler.format.decimal", ",")
pd.set_option("styler.format.precision", 2)


def visa(tabell: pd.DataFrame, decimaler: int = 2):
    """Visa en tabell med svenska tal: hektar med två decimaler, andelar i procent."""
    formats = {}
    for kolumn in tabell.columns:
        if "(ha)" in kolumn:
            formats[kolumn] = partial(fmt.number, decimals=decimaler)
        elif "(procentenheter)" in kolumn:
            formats[kolumn] = partial(fmt.number, decimals=decimaler, sign=True)
        elif kolumn.startswith("Andel"):
            formats[kolumn] = partial(fmt.percent, decimals=decimaler)
    return tabell.style.format(formats, na_rep="–")


# %% [markdown]
# ## 1. Konfigurationen
#
# `load_config` läser konfigurationsfilen. Relativa sökvägar räknas från filens mapp.
# Planen med `baseline = true` är jämförelseplanen (ÖP 2017). Klasserna är de värden i
# jordbruksskiktets klasskolumn som räknas som jordbruksmark, i prioritetsordning.

# %%
config = load_config(CONFIG)
print(f"Konfiguration: {config.path}")
print(f"Kommun: {config.kommun} ({config.kommunkod})")
jordbruk = config.agricultural_land
print(f"Jordbruksmark: {jordbruk.path.name}, kolumn {jordbruk.class_column!r}, "
      f"klasser {list(jordbruk.classes)}")
pd.DataFrame([{"Nyckel": p.key, "Plan": p.label, "Fil": p.source.path.name,
               "Jämförelseplan": "ja" if p.baseline else "",
               "Jordbruksskikt": config.agricultural_for(p).path.name} for p in config.plans])

# %% [markdown]
# ## 2. Indata: antal objekt och koordinatsystem
#
# `inspect_inputs` kontrollerar varje kalla utan att läsa geometrierna: lager, kolumner,
# klassvärden, antal objekt och koordinatsystem (CRS). Ett fel i indata ger ett
# meddelande som säger vilken fil, vad som är fel och hur det rättas. Allt räknas sedan i
# SWEREF 99 TM (EPSG:3006); en kalla i t.ex. SWEREF 99 16 30 (EPSG:3010) projiceras om.

# %%
infos = inspect_inputs(config)
pd.DataFrame([{"Roll": roll, "Fil": i.source.path.name, "Lager": i.layer, "Format": i.driver,
               "Antal objekt": i.features, "CRS i filen": i.source_crs or "saknas",
               "CRS som används": i.crs, "Geometrityp": i.geometry_type}
              for roll, i in infos.items()])

# %% [markdown]
# ## 3. Läsa och laga geometrier
#
# `read_inputs` läser varje kalla, projicerar om till EPSG:3006 och lagar geometrierna
# (`clean.clean_polygons`): bara ytor räknas, Z-värden tas bort, ogiltiga geometrier lagas
# med `make_valid` och tomma tas bort. Jordbruksmarken läses bara inom kommungränsen.
# Tabellen visar vad som gjordes med varje kalla.

# %%
inputs = read_inputs(config, infos)
pd.DataFrame({roll: r.as_dict() for roll, r in inputs.cleaning.items()}).T.rename(columns={
    "features_read": "Lästa", "null_dropped": "Utan geometri (borttagna)",
    "empty_dropped": "Tomma (borttagna)", "repaired": "Lagade (make_valid)",
    "z_dropped": "Z-värden borttagna", "non_polygonal_parts_dropped": "Punkt-/linjedelar borttagna",
    "features_kept": "Kvar"})

# %%
for varning in inputs.warnings:
    print("Varning:", varning.message)

# %% [markdown]
# ## 4. Jordbruksmarken som en täckning
#
# **Jordbruksmark** = åkermark + betesmark (klasserna ovan). Jordbruksblocken görs till en
# *täckning* (`overlay.build_coverage`): där block överlappar varandra räknas marken en gång,
# och där två klasser överlappar vinner den klass som står först i konfigurationen. Bara
# de få block som faktiskt överlappar bearbetas; övriga behåller sin geometri.

# %%
tackningar = {roll: build_coverage(inputs.farmland[roll], kalla.class_column, kalla.classes)
              for roll, kalla in agricultural_sources(config).items()}
pd.DataFrame([{"Skikt": roll, "Objekt efter lagning": len(inputs.farmland[roll]),
               "Bitar i täckningen": len(t.frame),
               **{f"{klass} (ha)": t.frame.area[t.frame[CLASS] == klass].sum() / M2_PER_HA
                  for klass in t.classes}}
              for roll, t in tackningar.items()]).pipe(visa)

# %% [markdown]
# ## 5. Överlagring, indikatorer och jämförelse
#
# `analyse` gör resten för alla planer på en gång, på de indata som lästes i steg 3:
#
# - **Utvecklingsområdenas fotavtryck** *D* för en plan = unionen av planens alla
#   områden, klippt till kommungränsen. Områden som överlappar räknas alltså bara en gång.
#   Tekniskt delas alla planers områden och kommungränsen först i ytor
#   (`overlay.faces`) som var och en ligger helt inom eller helt utanför varje område;
#   fotavtrycket är planens ytor inom kommunen.
# - **Jordbruksmark i utvecklingsområdena** = täckningen klippt till fotavtrycket
#   (`overlay.clip` på ytorna), i hektar och per klass.
# - **Andel jordbruksmark** = jordbruksmark i fotavtrycket / fotavtryckets areal. Det är
#   målets indikator.
# - **Andel av kommunens jordbruksmark** = jordbruksmark i fotavtrycket / all
#   jordbruksmark inom kommungränsen.
# - **Per område**: områdets areal, jordbruksmark och andel. Områden kan överlappa varandra
#   och sträcka sig utanför kommungränsen, så områdenas summa kan skilja sig från planens.
# - **Jämförelse med ÖP 2017**: förändring i procentenheter = 100 × (andel i planen −
#   andel i ÖP 2017); **målet är uppfyllt** när andelen är lägre än i ÖP 2017.
#   *Nyutpekad* jordbruksmark ligger i planens men inte i ÖP 2017:s utvecklingsområden,
#   *frisläppt* ligger i ÖP 2017:s men inte längre i planens, *kvarvarande* i båda.
#
# Ytorna mäts plant i SWEREF 99 TM; 1 ha = 10 000 m². Definitionerna står också i
# målrapportens metodavsnitt.

# %%
analysis = analyse(config, inputs)
summary = build_summary(analysis)  # exakt det som skrivs till summary.json i steg 7
pd.DataFrame({
    "Antal områden": analysis.areas.groupby("plan").size(),
    "Områdenas summerade areal (ha)": analysis.areas.groupby("plan")["area_ha"].sum(),
    "Fotavtryck, överlapp en gång, inom kommunen (ha)":
        analysis.footprints.set_index("plan")["development_area_ha"],
}).pipe(visa)

# %% [markdown]
# ## 6. Resultat per plan
#
# Nyckeltalen per plan, som i målrapporten (med två decimaler i stället för en):

# %% tags=["nyckeltal"]
nyckeltal = pd.DataFrame.from_dict({p["label"]: {
    "Antal utvecklingsområden": p["n_areas"],
    "Utvecklingsområden (ha)": p["development_area_ha"],
    "Jordbruksmark (ha)": p["agricultural_ha"],
    **{f"varav {klass} (ha)": ha for klass, ha in p["agricultural_ha_by_class"].items()},
    "Andel jordbruksmark": p["share"],
    "Andel av kommunens jordbruksmark": p["share_of_municipal_agricultural_land"],
} for p in analysis.plans.values()}, orient="index")
visa(nyckeltal)

# %% [markdown]
# Jämförelsen med ÖP 2017:

# %% tags=["jamforelse"]
jamforelse = pd.DataFrame.from_dict({analysis.plans[nyckel]["label"]: {
    "Jämförs med": analysis.plans[j["baseline"]]["label"],
    "Förändring av andelen (procentenheter)": j["share_change_pp"],
    "Förändring jordbruksmark (ha)": j["agricultural_ha_change"],
    "Nyutpekad jordbruksmark (ha)": j["newly_designated_ha"],
    "Frisläppt jordbruksmark (ha)": j["released_ha"],
    "Kvarvarande jordbruksmark (ha)": j["kept_ha"],
    "Målet uppfyllt": {True: "ja", False: "nej", None: "kan inte bedömas"}[j["goal_met"]],
} for nyckel, j in analysis.comparisons.items()}, orient="index")
visa(jamforelse)

# %% [markdown]
# Meningen som målrapporten föreslår för årsredovisningen:

# %% tags=["mening"]
for nyckel in analysis.comparisons or [summary["baseline"]]:
    print(citable_sentence(summary, nyckel))

# %% [markdown]
# Andelen per plan (samma diagram som i målrapporten):

# %% tags=["diagram"]
png, (bredd, hojd), alt = share_chart(summary)
display(Image(data=png, width=bredd))

# %% [markdown]
# ## 7. Skriva resultaten
#
# `write_outputs` skriver `summary.json`, `areas.csv`, `analysis.gpkg` (öppna i QGIS)
# och `opjord.xlsx`; `build_maps` och `build_report` skriver webbkartorna och
# [målrapporten](../reports/uppfoljning_3a.html) från dem, precis som `opjord run`.

# %%
skrivna = write_outputs(analysis)
skrivna += build_maps(config)
skrivna += build_report(config)
for fil in skrivna:
    print(fil)

# %% [markdown]
# ## 8. Utvecklingsområdena
#
# Alla områden i alla planer, sorterade efter mest jordbruksmark (de 20 första; hela
# tabellen finns i `areas.csv` och `opjord.xlsx`). Status anger hur området förhåller sig
# till ÖP 2017: *ny*, *kvar* (samma område) eller *ändrad*; ett område i ÖP 2017 som den
# senaste planen inte har är *borttagen*.

# %% tags=["omraden"]
etiketter = {nyckel: p["label"] for nyckel, p in analysis.plans.items()}
med_raster = config.landcover is not None
kolumner = {k.name: k.label for k in area_columns(analysis.classes, landcover=med_raster)}
omraden = (areas_table(analysis)
           .sort_values(["agricultural_ha", "plan", "area_id"], ascending=[False, True, True])
           .assign(plan=lambda t: t["plan"].map(etiketter),
                   status=lambda t: t["status"].map(status_sv))
           .rename(columns=kolumner))
visa(omraden.head(20).reset_index(drop=True))

# %% [markdown]
# ## 9. Kartan
#
# Samma karta som `maps/oversikt.html`: planernas utvecklingsområden, jordbruksmarken i
# dem per klass, nyutpekad och frisläppt jordbruksmark och kommungränsen. Klicka på ett
# område för dess siffror; lagren tänds och släcks uppe till höger. Kartan är fristående
# (Leaflet följer med opjord); bara bakgrundskartan hämtas från nätet.

# %% tags=["karta"]
overview_map(config)

# %% [markdown]
# ## 10. Granska ett område
#
# Välj plan och område-id (se tabellen i steg 8). Cellen klipper jordbrukstäckningen
# till just det området (`overlay.clip`, samma funktion som analysen använder) och listar
# bitarna med blockid och klass. Bitarnas summa är områdets jordbruksmark i tabellen.
# Jordbruksmarken inom hela planens fotavtryck finns som lagret `agricultural_in_areas` i
# `analysis.gpkg` (och här som `analysis.pieces`).

# %% tags=["bitar"]
PLAN = config.plans[-1].key  # t.ex. "op2017"
OMRADE_ID = None  # t.ex. "U-012"; None = området med mest jordbruksmark i planen

planens = analysis.areas[analysis.areas["plan"] == PLAN]
if OMRADE_ID is None:
    OMRADE_ID = planens.sort_values("agricultural_ha", ascending=False)["area_id"].iloc[0]
omrade = planens[planens["area_id"] == OMRADE_ID].iloc[0]
plan = next(p for p in config.plans if p.key == PLAN)
tackning = tackningar[config.agricultural_for(plan).role]
bitar = pieces_frame(tackning, clip(tackning, [omrade.geometry]), area_id=OMRADE_ID)

print(f"{etiketter[PLAN]}, område {OMRADE_ID} {omrade['name']} ({omrade['type']}): "
      f"{fmt.hectares(omrade['area_ha'], 2)}, varav jordbruksmark "
      f"{fmt.hectares(omrade['agricultural_ha'], 2)} ({fmt.percent(omrade['share'], 1)}).")
print(f"{len(bitar)} bitar jordbruksmark, sammanlagt {fmt.hectares(bitar['area_ha'].sum(), 2)}.")
visa(bitar.drop(columns=bitar.geometry.name).rename(columns={"area_ha": "Bit i området (ha)"}))

# %%
if bitar.empty:
    print("Området innehåller ingen jordbruksmark.")
else:
    ax = bitar.plot(column="class", categorical=True, legend=True, edgecolor="white",
                    cmap="Set2", figsize=(7, 7))
    planens[planens["area_id"] == OMRADE_ID].boundary.plot(ax=ax, color="black", linewidth=2)
    ax.set_title(f"{etiketter[PLAN]}, område {OMRADE_ID}: jordbruksmark per klass")
    ax.set_axis_off()

# %% [markdown]
# ## 11. Prova själv: ett annat klassurval
#
# Vill du se hur andelen blir med bara den första klassen (i demodata åkermark)? Ändra
# konfigurationen i minnet och kör analysen igen på samma indata. Inget skrivs till disk;
# målets siffror är de i steg 6. (Planer med ett eget jordbruksskikt behåller sina klasser.)

# %%
bara_forsta = replace(config, agricultural_land=replace(
    config.agricultural_land, classes=config.agricultural_land.classes[:1]))
prov = analyse(bara_forsta, inputs)
pd.DataFrame.from_dict({p["label"]: {
    "Klasser": ", ".join(bara_forsta.agricultural_land.classes),
    "Jordbruksmark (ha)": p["agricultural_ha"],
    "Andel jordbruksmark": p["share"],
} for p in prov.plans.values()}, orient="index").pipe(visa)
