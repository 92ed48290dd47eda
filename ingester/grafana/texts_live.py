"""Texts of the *Live Q&A* (with its session panels) and *Ingester health* boards, in every language."""

from __future__ import annotations

from ingester.i18n import Catalog

TEXTS = Catalog({
    "nl": {
        "live.title": "Live vragenronde",
        "live.desc": "Voor het team tijdens een live sessie: de gekozen sessie (standaard de nieuwste vragenronde), "
                     "reacties zodra ze binnenkomen, wie wacht op antwoord, het tempo.",
        "row.session": "De gekozen sessie",
        "s.replies": "Reacties tot nu toe",
        "s.replies.desc": "Reacties overal in de draad van de sessie (ook diepe reacties), sinds het bericht.",
        "s.participants": "Deelnemers tot nu toe",
        "s.participants.desc": "Verschillende accounts die in de draad van de sessie reageerden.",
        "s.new": "Nieuwe deelnemers",
        "s.new.desc": "Deelnemers die het kanaal voor het eerst zag in deze sessie (eerste contact op of na het "
                      "bericht).",
        "s.returning": "Terugkerende deelnemers",
        "s.returning.desc": "Deelnemers die al eerder contact hadden met het kanaal.",
        "s.ratio": "Reacties per like",
        "s.ratio.desc": "Reacties in de draad gedeeld door de likes van het bericht (leeg zonder likes).",
        "s.median": "Mediane reactietijd",
        "s.median.desc": "Mediane tijd tussen een reactie aan het adres van de stad en het antwoord van de stad, in "
                         "deze sessie (uu:mm:ss).",
        "s.longest": "Langste reactietijd",
        "s.longest.desc": "Langste tijd tot een antwoord van de stad in deze sessie (uu:mm:ss).",
        "s.waiting": "Nog zonder antwoord",
        "s.waiting.desc": "Reacties in de sessie aan het adres van de stad zonder antwoord.",
        "s.per_minute": "Reacties per minuut sinds het bericht",
        "s.per_minute.desc": "Het tempo van de sessie: reacties in de draad per minuut; een stille minuut telt als 0.",
        "s.compare": "Deze sessie en de vorige sessies",
        "s.compare.desc": "De cijfers van deze sessie naast het gemiddelde van de vorige (hoogstens 10) sessies van "
                          "het kanaal in dezelfde vorm, elk over de hele sessie; de eerste regel vergelijkt het "
                          "tempo: reacties even lang na het bericht als deze sessie nu loopt. Reactietijden in "
                          "minuten.",
        "s.queue": "Wachtrij van deze sessie",
        "s.queue.desc": "Reacties in de sessie aan het adres van de stad zonder antwoord, oudste eerst.",
        "k.at_this_point": "Reacties op dit moment van de sessie",
        "k.replies": "Reacties",
        "k.participants": "Deelnemers",
        "k.new": "Nieuwe deelnemers",
        "k.returning": "Terugkerende deelnemers",
        "k.ratio": "Reacties per like",
        "k.median": "Mediane reactietijd (min)",
        "k.longest": "Langste reactietijd (min)",
        "k.waiting": "Wacht op antwoord",
        "row.channel": "Het hele kanaal in de gekozen periode",
        "replies": "Reacties",
        "replies.desc": "Reacties op de draden van het kanaal in de gekozen periode.",
        "participants": "Deelnemers",
        "participants.desc": "Verschillende accounts die reageerden, vermeldden, citeerden, liketen of boostten.",
        "waiting": "Wacht op een antwoord",
        "waiting.desc": "Reacties in de periode aan het adres van de stad die nog geen antwoord hebben.",
        "longest_wait": "Langste wachttijd",
        "longest_wait.desc": "Hoe lang de oudste onbeantwoorde reactie al wacht (uu:mm:ss).",
        "per_minute": "Reacties in de tijd",
        "per_minute.desc": "Reacties per minuut; over een langere periode per punt van de grafiek (minstens een "
                           "minuut, bij 90 dagen 2 uur). Blauwe markeringen zijn berichten en antwoorden van de stad.",
        "likes_per_minute": "Likes en boosts in de tijd",
        "likes_per_minute.desc": "Likes en boosts van de berichten van het kanaal per minuut; over een langere periode "
                                 "per punt van de grafiek.",
        "row.replies": "Reacties",
        "newest": "Nieuwste reacties",
        "newest.desc": "De laatste reacties met account, tekst en een link om op Mastodon te antwoorden.",
        "queue": "Wachtrij",
        "queue.desc": "Reacties in de periode aan het adres van de stad die nog geen antwoord hebben, oudste eerst.",
        "anno": "De stad plaatste",
        "city_posted": "De stad plaatste",
        "city_answered": "De stad antwoordde",
        "health.title": "Gezondheid van de ingester",
        "health.desc": "Voor beheer: is de ingester verbonden, houdt hij bij en gaat er niets verloren?",
        "origin": "Herkomst van de gegevens",
        "origin.desc": "Of deze database ooit gesimuleerde gegevens kreeg (ingester demo, run --simulate). Dan "
                       "mengen alle kengetallen hier gesimuleerde rijen: gebruik een nieuwe database voor een echt "
                       "kanaal.",
        "origin.simulated": "GESIMULEERDE GEGEVENS — uit de ingebouwde simulator, geen echt kanaal",
        "origin.real": "Gegevens van het echte kanaal",
        "origin.none": "Nog geen gegevens",
        "stream": "Streamverbinding",
        "stream.desc": "Verbonden als de laatste hartslag (laatste 5 min) van elk gekozen kanaal dat meldt.",
        "event_age": "Leeftijd van de laatste gebeurtenis",
        "event_age.desc": "Tijd sinds de nieuwste gebeurtenis die de ingester schreef (stille kanalen verouderen "
                          "ook).",
        "heartbeat_age": "Leeftijd van de laatste hartslag",
        "heartbeat_age.desc": "De ingester schrijft ongeveer elke 15 s een hartslag; boven 5 min staat hij stil.",
        "connected": "Verbinding in de tijd",
        "connected.desc": "1 als de streamverbinding bij elke hartslag van die minuut (over een langere periode: dat "
                          "punt van de grafiek) open was, 0 als niet.",
        "events": "Opgeslagen gebeurtenissen per soort",
        "events.desc": "Rijen per minuut naar opslagtijd (over een langere periode per punt van de grafiek): "
                       "berichten per relatie, interacties per soort. Inhalen na een herverbinding is een piek.",
        "lag": "Vertraging bij opslaan",
        "lag.desc": "Opslagmoment min moment van gebeuren voor recente gebeurtenissen, volgens de hartslagen.",
        "catchup": "Inhalen en herverbindingen",
        "catchup.desc": "Inhaalrondes via REST, opgehaalde pagina's en herverbindingen van de stream per minuut (over "
                        "een langere periode per punt van de grafiek).",
        "backlog": "Wachtrij op schijf en API-limiet",
        "backlog.desc": "Gebeurtenissen in de lokale wachtrij, en REST-verzoeken over in het limietvenster.",
        "dead": "Afgekeurde invoer in de tijd",
        "dead.desc": "Invoer die niet te verwerken was en apart is gezet, per minuut (over een langere periode per "
                     "punt van de grafiek).",
        "dead_list": "Laatst afgekeurde invoer",
        "dead_list.desc": "Waarom de laatste invoer apart is gezet (de inhoud blijft in de database).",
        "jobs": "Achtergrondtaken (TimescaleDB)",
        "jobs.desc": "De taken van TimescaleDB die de aggregaten verversen, oude delen comprimeren en oude gegevens "
                     "opruimen. Mislukte taken staan bovenaan in het rood; bij een aggregaat de achterstand: hoe lang "
                     "geleden het voor het laatst is bijgewerkt (nieuwere cijfers worden dan uit de ruwe "
                     "gebeurtenissen berekend, trager). Op gewone PostgreSQL zijn er geen: daar worden de "
                     "optellingen in dezelfde transactie als de gebeurtenissen bijgehouden.",
        "jobs.none": "Geen achtergrondtaken: op gewone PostgreSQL worden de optellingen in dezelfde transactie als de "
                     "gebeurtenissen bijgehouden.",
        "jobs.failing": "Mislukt", "jobs.lagging": "Loopt achter", "jobs.not_run": "Nog niet gedraaid",
        "jobs.ok": "In orde",
        "jobs.refresh": "Aggregaat verversen", "jobs.compression": "Comprimeren", "jobs.retention": "Opruimen",
        "jobs.reorder": "Herordenen", "jobs.job": "Eigen taak",
    },
    "en": {
        "live.title": "Live Q&A",
        "live.desc": "For the team during a live session: the chosen session (by default the newest Q&A), replies "
                     "as they arrive, who is waiting, the pace.",
        "row.session": "The chosen session",
        "s.replies": "Replies so far",
        "s.replies.desc": "Replies anywhere in the session's thread (deep replies too), since the post.",
        "s.participants": "Participants so far",
        "s.participants.desc": "Distinct accounts that replied in the session's thread.",
        "s.new": "New participants",
        "s.new.desc": "Participants the channel first saw in this session (first engagement at or after the post).",
        "s.returning": "Returning participants",
        "s.returning.desc": "Participants that had engaged with the channel before.",
        "s.ratio": "Reply/like ratio",
        "s.ratio.desc": "Replies in the thread divided by the post's favourites (empty without favourites).",
        "s.median": "Median response time",
        "s.median.desc": "Median time between a reply addressed to the city and the city's answer, in this session "
                         "(hh:mm:ss).",
        "s.longest": "Longest response time",
        "s.longest.desc": "Longest time to an answer by the city in this session (hh:mm:ss).",
        "s.waiting": "Still waiting",
        "s.waiting.desc": "Replies in the session addressed to the city without an answer.",
        "s.per_minute": "Replies per minute since the post",
        "s.per_minute.desc": "The session's pace: replies in the thread per minute; a quiet minute shows as 0.",
        "s.compare": "This session and the previous ones",
        "s.compare.desc": "This session's numbers beside the average of the channel's previous (at most 10) sessions "
                          "of the same format, each over the whole session; the first line compares the pace: "
                          "replies as long after the post as this session has now run. Response times in minutes.",
        "s.queue": "This session's queue",
        "s.queue.desc": "Replies in the session addressed to the city without an answer, oldest first.",
        "k.at_this_point": "Replies at this point of the session",
        "k.replies": "Replies",
        "k.participants": "Participants",
        "k.new": "New participants",
        "k.returning": "Returning participants",
        "k.ratio": "Reply/like ratio",
        "k.median": "Median response time (min)",
        "k.longest": "Longest response time (min)",
        "k.waiting": "Waiting for an answer",
        "row.channel": "The whole channel in the selected range",
        "replies": "Replies",
        "replies.desc": "Replies to the channel's threads in the selected range.",
        "participants": "Participants",
        "participants.desc": "Distinct accounts that replied, mentioned, quoted, favourited or boosted.",
        "waiting": "Waiting for an answer",
        "waiting.desc": "Replies in the range addressed to the city without an answer yet.",
        "longest_wait": "Longest wait",
        "longest_wait.desc": "How long the oldest unanswered reply has been waiting (hh:mm:ss).",
        "per_minute": "Replies over time",
        "per_minute.desc": "Replies per minute; on a longer range per point of the graph (at least a minute, 2 hours "
                           "over 90 days). Blue marks are the city's own posts and answers.",
        "likes_per_minute": "Favourites and boosts over time",
        "likes_per_minute.desc": "Favourites and boosts of the channel's statuses per minute; on a longer range per "
                                 "point of the graph.",
        "row.replies": "Replies",
        "newest": "Newest replies",
        "newest.desc": "The latest replies with handle, text and a link to answer on Mastodon.",
        "queue": "Unanswered queue",
        "queue.desc": "Replies in the range addressed to the city that have no answer yet, oldest first.",
        "anno": "The city posted",
        "city_posted": "The city posted",
        "city_answered": "The city answered",
        "health.title": "Ingester health",
        "health.desc": "For operations: is the ingester connected, keeping up, and losing nothing?",
        "origin": "Data source",
        "origin.desc": "Whether this database has received simulated data (ingester demo, run --simulate). Once "
                       "it has, every KPI here mixes simulated rows: use a fresh database for a real channel.",
        "origin.simulated": "SIMULATED DATA — from the built-in simulator, not a real channel",
        "origin.real": "Real channel data",
        "origin.none": "No data yet",
        "stream": "Stream",
        "stream.desc": "Connected when every selected channel's latest heartbeat (last 5 min) says so.",
        "event_age": "Age of the last event",
        "event_age.desc": "Time since the newest event the ingester wrote (quiet channels age too).",
        "heartbeat_age": "Age of the last heartbeat",
        "heartbeat_age.desc": "The ingester writes a heartbeat every ~15 s; above 5 min it is stalled.",
        "connected": "Stream connected",
        "connected.desc": "1 when the streaming connection was up at every heartbeat of the minute (on a longer "
                          "range: of that point of the graph), 0 when not.",
        "events": "Events ingested by kind",
        "events.desc": "Rows written per minute by ingestion time (on a longer range per point of the graph): "
                       "statuses by relation, interactions by kind. Catch-up after a reconnect shows as a burst.",
        "lag": "Ingestion lag",
        "lag.desc": "Ingested minus occurred for recent events, as reported in the heartbeats.",
        "catchup": "Catch-up and reconnects",
        "catchup.desc": "REST catch-up runs and pages fetched, and stream reconnects, per minute (on a longer range "
                        "per point of the graph).",
        "backlog": "Spool and rate limit",
        "backlog.desc": "Events waiting in the local spool, and REST requests left in the rate window.",
        "dead": "Dead letters over time",
        "dead.desc": "Inputs that could not be normalised and were set aside, per minute (on a longer range per "
                     "point of the graph).",
        "dead_list": "Latest dead letters",
        "dead_list.desc": "Why the latest inputs were set aside (the payload stays in the database).",
        "jobs": "Background jobs (TimescaleDB)",
        "jobs.desc": "The TimescaleDB jobs that refresh the continuous aggregates, compress old chunks and drop old "
                     "data. Failing jobs come first, in red; for an aggregate its lag: how long ago it was last "
                     "brought up to date (newer figures are then computed from the raw events, more slowly). On "
                     "plain PostgreSQL there are none: the rollups are kept in the same transaction as the events.",
        "jobs.none": "No background jobs: on plain PostgreSQL the rollups are kept in the same transaction as the "
                     "events.",
        "jobs.failing": "Failing", "jobs.lagging": "Lagging", "jobs.not_run": "Not run yet", "jobs.ok": "OK",
        "jobs.refresh": "Aggregate refresh", "jobs.compression": "Compression", "jobs.retention": "Retention",
        "jobs.reorder": "Reorder", "jobs.job": "Own job",
    },
})
