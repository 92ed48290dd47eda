"""Texts of the alert rules (titles, summaries, descriptions), in every language.

Summaries and descriptions are Grafana alert templates (Go text/template): `{{ $labels.channel }}`
and `{{ $values.B.Value }}` are filled by Grafana. Numbers are printed so that they read well in
the language: whole minutes with `printf "%.0f"` (no decimal separator at all), the share as a
percentage with `humanizePercentage`, and in Dutch its decimal point turned into a comma.
"""

from __future__ import annotations

from ingester.i18n import Catalog

_SHARE = {
    "nl": "{{ reReplaceAll `\\.` \",\" (humanizePercentage $values.B.Value) }}",
    "en": "{{ humanizePercentage $values.B.Value }}",
}
_WHOLE = '{{ printf "%.0f" $values.B.Value }}'
_CHANNEL = "{{ $labels.channel }}"
_JOB = "{{ $labels.job }}"

TEXTS = Catalog({
    "nl": {
        "engagement.title": "Betrokkenheid gedaald",
        "engagement.summary": f"Interacties met {_CHANNEL} in de laatste 24 uur zijn onder {{pct}}% van het "
                              "daggemiddelde van de 7 dagen ervoor.",
        "engagement.description": "Reacties, vermeldingen, citaten, likes, boosts en nieuwe volgers in de laatste "
                                  "24 uur, als deel van het daggemiddelde van de 7 dagen ervoor: "
                                  f"{_SHARE['nl']}.",
        "quiet.title": "Live vragenronde stilgevallen",
        "quiet.summary": f"Al 20 minuten geen reactie op de live vragenronde van {_CHANNEL}.",
        "quiet.description": "Er is in de laatste 3 uur een vragenronde geplaatst, en de nieuwste reactie in de "
                             f"draad is {_WHOLE} minuten oud.",
        "stalled.title": "Ingester staat stil",
        "stalled.summary": f"De ingester voor {_CHANNEL} heeft al 5 minuten geen hartslag geschreven.",
        "stalled.description": f"Minuten sinds de laatste hartslag: {_WHOLE}. Controleer de ingester-container "
                               "en zijn logboek.",
        "dead.title": "Afgekeurde invoer neemt toe",
        "dead.summary": f"Er wordt meer invoer van {_CHANNEL} afgekeurd dan gewoonlijk.",
        "dead.description": f"In de laatste 15 minuten is {_WHOLE} keer meer invoer apart gezet dan gewoonlijk "
                            "(gewoonlijk = het tempo van de 24 uur ervoor). De redenen staan op het dashboard "
                            "Gezondheid van de ingester.",
        "jobs.title": "Achtergrondtaak mislukt of aggregaat loopt achter",
        "jobs.summary": f"TimescaleDB-taak {_JOB}: de laatste run is mislukt, of het aggregaat is te lang niet "
                        "bijgewerkt.",
        "jobs.description": "Zonder werkende taken lijken de cijfers op een stil kanaal. Het paneel "
                            "Achtergrondtaken (TimescaleDB) op het dashboard Gezondheid van de ingester toont de "
                            "fout, hoe vaak de taak op rij mislukte en de achterstand.",
    },
    "en": {
        "engagement.title": "Engagement dropped",
        "engagement.summary": f"Interactions on {_CHANNEL} in the last 24 h are below {{pct}}% of the 7-day daily "
                              "average.",
        "engagement.description": "Replies, mentions, quotes, favourites, boosts and follows in the last 24 hours "
                                  f"as a share of the daily average of the 7 days before: {_SHARE['en']}.",
        "quiet.title": "Live Q&A gone quiet",
        "quiet.summary": f"No reply to the live Q&A on {_CHANNEL} for 20 minutes.",
        "quiet.description": "A qa post was published in the last 3 hours, and the newest reply in its thread is "
                             f"{_WHOLE} minutes old.",
        "stalled.title": "Ingester stalled",
        "stalled.summary": f"The ingester for {_CHANNEL} has not written a heartbeat for 5 minutes.",
        "stalled.description": f"Minutes since the last heartbeat: {_WHOLE}. Check the ingester container and its "
                               "logs.",
        "dead.title": "Dead letters rising",
        "dead.summary": f"Dead letters on {_CHANNEL} are rising.",
        "dead.description": f"{_WHOLE} more inputs than usual were set aside in the last 15 minutes (usual = the "
                            "previous 24 hours' rate). See the Ingester health board for the reasons.",
        "jobs.title": "Background job failing or aggregate lagging",
        "jobs.summary": f"TimescaleDB job {_JOB}: its last run failed, or the aggregate has not been brought up to "
                        "date for too long.",
        "jobs.description": "Without working jobs the figures look like a quiet channel. The Background jobs "
                            "(TimescaleDB) panel on the Ingester health board shows the error, how many runs in a "
                            "row failed and the lag.",
    },
})
