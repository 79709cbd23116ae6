"""The trial planner's defaults, apart from the planner so that the CLI can show them without loading numpy."""

# The planner's defaults: 12 pairs of 7-day blocks (168 days), 200 mg elemental
# magnesium as glycinate.  Why (docs/statistics.md, power table at 3 events/day,
# true rate ratio 0.70 per 100 mg):
# - 6 pairs of 4-day blocks (48 days) detect only large effects (power about
#   0.2 even at 84 days of 4-day blocks);
# - 168 days of 7-day blocks reach 0.71, the only design measured near the 0.75
#   bar; a 7-day block holds each weekday once, so on and off periods are
#   balanced for day-of-week habits, and a longer block gives the lagged (0-3
#   day) effect time to build up before the switch;
# - 200 mg is a common label dose and stays below the 350 mg/day upper level.
DEFAULT_PAIRS = 12
DEFAULT_BLOCK_DAYS = 7
DEFAULT_DOSE_MG = 200.0
DEFAULT_FORM = "glycinate"
#: Below this many days, or with blocks shorter than a week, a plan gets the power caveat.
WELL_POWERED_DAYS = 168
