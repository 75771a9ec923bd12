"""Different reports that look alike, written for newsbeam's tests and benchmarks: none of them
is a variant of another, so no two may be one story.

- `template_reports`: 120 short reports from one sentence template, with different names,
  places and numbers (results, closures, earnings are written this way every day).
- `LOOKALIKES`: pairs of different reports that share a teaser line, a topic, or a poll.
"""

from __future__ import annotations

import random

_FIRST = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Karla", "Lukas",
          "Mira", "Noah", "Olga", "Paul", "Rosa", "Simon", "Tara", "Umar"]
_LAST = ["Berg", "Hahn", "Klein", "Lang", "Meyer", "Neumann", "Ott", "Peters", "Roth", "Schulz", "Vogel", "Wolf",
         "Yilmaz", "Zander", "Brandt", "Fischer"]
_TOWNS = ["Lindenau", "Ostheim", "Marbach", "Kirchdorf", "Seeburg", "Talheim", "Neustadt", "Altenau", "Rheinfeld",
          "Birkenau", "Waldeck", "Steinbach"]
_SHOPS = ["bakery", "bookshop", "bicycle repair shop", "café", "pharmacy", "flower shop", "hardware store",
          "tailor's shop"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def template_reports(count: int = 120, seed: int = 1) -> list[dict[str, str]]:
    """`count` different reports of one kind (a shop closes), one sentence template each, each of
    another owner (places, shops and numbers may repeat, as they do)."""
    rnd = random.Random(seed)
    owners = rnd.sample([f"{first} {last}" for first in _FIRST for last in _LAST], count)
    reports = []
    for n, owner in enumerate(owners):
        town, shop = rnd.choice(_TOWNS), rnd.choice(_SHOPS)
        opened, staff, rent = rnd.randint(1950, 2015), rnd.randint(2, 40), rnd.randint(20, 900)
        reports.append({
            "id": f"template-{n}", "language": "en",
            "title": f"{town} {shop} closes after {2026 - opened} years",
            "text": (f"The {shop} on the main square of {town} will close at the end of the month, its owner "
                     f"{owner} said on {rnd.choice(_DAYS)}. The shop opened in {opened} and employs {staff} people. "
                     f"{owner.split()[0]} said rents that rose by {rent} euros a month since last year had made it "
                     f"impossible to go on. Customers can still buy vouchers until the {rnd.randint(10, 28)}th."),
        })
    return reports


# (why they are alike, report a, report b): each a title and a feed's text, HTML as feeds send it.
LOOKALIKES = [
    ("a teaser line the feed adds",
     {"title": "Harbour authority approves new ferry pier in Lindenau",
      "text": "<p>The harbour authority approved a second ferry pier on Tuesday, to be built by 2028 for 14 million "
              "euros.</p><p>Related: <a href='/v'>Moments of protest at the town hall as council meets – video</a>"
              "</p> <a href='/1'>Continue reading...</a>"},
     {"title": "Moments of protest at the town hall as council meets – video",
      "text": "<p>Residents held up banners and chanted outside the town hall while councillors debated the budget."
              "</p><p>Related: <a href='/v'>Moments of protest at the town hall as council meets – video</a></p> "
              "<a href='/2'>Continue reading...</a>"}),
    ("one poll, two reports",
     {"title": "Poll: Voss leads mayoral race by eight points",
      "text": "Hanna Voss would win 41 percent of the vote if the mayoral election were held on Sunday, a poll by "
              "the Institut Lindenau found. Her challenger Peter Brandt trails with 33 percent, and 12 percent "
              "are undecided. The poll questioned 1,004 residents between 3 and 7 November."},
     {"title": "Young voters turn away from both mayoral candidates, poll shows",
      "text": "Fewer than half of voters under 30 plan to vote in the mayoral election, the Institut Lindenau "
              "poll found. Among them, housing is the main concern, named by 58 percent, ahead of public "
              "transport. Neither candidate has a majority among young voters, the institute said."}),
    ("one topic, two events",
     {"title": "Cable car: council approves funding for the first section",
      "text": "The council approved 84 million euros for the first section of the cable car across the river on "
              "Thursday. Construction is due to start in spring, and the first cabins should run in 2029."},
     {"title": "Cable car: residents of the east bank sue over noise",
      "text": "Twelve residents of the east bank have filed a lawsuit against the cable car, saying the noise of "
              "the cabins would break the town's limits at night. The court will hear the case in March."}),
    ("one template of results",
     {"title": "Lindenau rowers win the regional eight final",
      "text": "The men's eight of Ruderclub Lindenau won the regional final on Saturday in 5:41 minutes, two "
              "seconds ahead of Seeburg. Coach Amira Haddad said the crew had trained twice a day since August."},
     {"title": "Seeburg rowers win the regional four final",
      "text": "The women's four of Ruderverein Seeburg won the regional final on Sunday in 6:58 minutes, four "
              "seconds ahead of Marbach. Coach Jonas Perlbach said the crew had trained every morning since May."}),
]
