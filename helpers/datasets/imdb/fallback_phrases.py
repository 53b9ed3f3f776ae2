"""Phrase pools for the synthetic fallback reviews (see fallback.py).

Every title, name and plot here is invented for this course. Placeholders in braces are
filled per review ({title}, {director}, {lead}, ...) or drawn afresh on each use ({good},
{bad}, {aspect}, ...).
"""

# Word lists read better several to a line.
# fmt: off
TITLES = [
    "The Lighthouse Keeper's Daughter", "Midnight on Route 9", "Paper Lanterns",
    "The Last Orchard", "Copper Sky", "A Winter in Galway", "The Glass Harbor",
    "Northbound", "Salt and Iron", "The Cartographer", "Seven Days in Lisbon",
    "Velvet Static", "The Quiet Engine", "Harvest Moon Motel", "Borrowed Thunder",
    "The Long Way Home", "Ashes of August", "Blue Meridian", "The Clockmaker's Son",
    "Red Canyon Run", "Dust and Daylight", "The Ninth Floor", "Little Giants",
    "Shadows over Brighton", "The Salt Road", "Echo Park Nights", "Iron Lullaby",
    "The Tin Crown", "Summer of the Comet", "Lost Signal", "The Baker's Dozen",
    "Dead Reckoning", "The Ferryman", "Under the Pines", "Neon Saints",
    "The Marigold Affair", "Frozen Tide", "A Song for Ruth", "The Hollow Hills",
    "Gravel and Grace", "Starlight Drive-In", "The Orchid Thief of Macao",
    "Wolves at the Door", "Second Chances", "The Paper Kingdom", "Cold Harbor Blues",
    "The Weight of Water", "Bright Young Ghosts", "Ruby Falls", "The Night Courier",
]

FIRST_NAMES = [
    "Anna", "Marcus", "Elena", "Tom", "Grace", "Victor", "Maya", "Samuel", "Claire",
    "Diego", "Nora", "Felix", "Ingrid", "Owen", "Priya", "Leo", "Hannah", "Rafael",
    "Julia", "Walter", "Sofia", "Ben", "Iris", "Carl", "Lucy", "Hugo", "Martha", "Kenji",
]

LAST_NAMES = [
    "Holloway", "Brandt", "Okafor", "Lindqvist", "Moreau", "Castellano", "Whitfield",
    "Nakamura", "Petrov", "Gallagher", "Sorensen", "Delgado", "Ashworth", "Kowalski",
    "Fairbanks", "Mendes", "Thornton", "Baptiste", "Hargreave", "Vance", "Oduya", "Quinn",
]

GENRES = [
    "thriller", "romantic comedy", "western", "horror film", "war drama",
    "science fiction adventure", "musical", "crime drama", "family film", "period piece",
    "heist movie", "animated feature", "courtroom drama", "sports drama", "mystery",
    "disaster movie", "biopic", "coming-of-age story", "road movie", "ghost story",
]

ROLES = [
    "a retired detective", "a young nurse", "two estranged brothers", "a small-town mayor",
    "a widowed fisherman", "a struggling jazz pianist", "a teenage runaway",
    "an ambitious lawyer", "a disgraced boxer", "a lonely lighthouse keeper",
    "a pair of amateur thieves", "a schoolteacher", "an aging rock star",
    "a rookie police officer", "a botanist", "a single mother", "a travelling salesman",
    "a former soldier", "a stubborn farmer", "a journalist",
]

SETTINGS = [
    "in 1950s Chicago", "on a fishing island off the coast of Maine", "in a sleepy desert town",
    "in post-war Berlin", "in a crumbling seaside hotel", "somewhere in rural Montana",
    "in present-day Tokyo", "on a long train journey across Europe", "in a snowed-in ski lodge",
    "in the suburbs of Manchester", "on a research station in Antarctica",
    "in a mining town in Wales", "in New Orleans during Mardi Gras", "aboard a cargo ship",
]

ACTIONS = [
    "has to save the family farm before winter", "stumbles onto a smuggling ring",
    "tries to reunite an old band for one last show", "is hiding a secret from everyone in town",
    "agrees to look after a stranger's dog and regrets it", "gets caught up in a murder case",
    "sets out to find a missing sister", "inherits a house that seems to have a mind of its own",
    "must win a local talent contest to pay off a debt", "falls for the wrong person",
    "is hired to guard a painting nobody wants", "wakes up with no memory of the night before",
    "takes on the company that poisoned the river", "trains a hopeless team for the finals",
]

COMPANIONS = [
    "wife", "husband", "girlfriend", "boyfriend", "brother", "sister", "roommate",
    "dad", "mother", "best friend", "kids", "film club",
]

DAYS = ["Friday", "Saturday night", "Sunday afternoon", "weekend", "holiday", "rainy evening"]

# Aspects a reviewer comments on; "{lead}" is the lead actor's name.
ASPECTS = [
    "acting", "script", "dialogue", "direction", "cinematography", "soundtrack", "score",
    "pacing", "ending", "plot", "editing", "supporting cast", "story", "photography",
    "special effects", "humor", "screenplay", "casting", "set design", "final act",
]

# Ordered from most to least used: a few words carry most of the sentiment, as in real reviews.
GOOD = [
    "great", "wonderful", "excellent", "brilliant", "beautiful", "superb", "amazing",
    "perfect", "fantastic", "touching", "gorgeous", "outstanding", "charming", "gripping",
    "memorable", "moving", "delightful", "terrific", "clever", "heartfelt", "stunning",
    "powerful", "witty", "haunting", "sharp", "lovely", "fresh", "engaging", "remarkable",
    "masterful", "tender", "hilarious", "inspired", "enjoyable", "smart", "magical",
]

BAD = [
    "bad", "awful", "terrible", "boring", "dull", "stupid", "horrible", "poor", "weak",
    "pointless", "dreadful", "clumsy", "lazy", "forgettable", "painful", "ridiculous", "flat",
    "lifeless", "tedious", "bland", "silly", "incoherent", "cheap", "predictable", "annoying",
    "mediocre", "wooden", "laughable", "messy", "sloppy", "disappointing", "unwatchable",
]

# Milder words for the asides that go against a review's overall verdict.
MILD_GOOD = ["decent", "fine", "nice", "pleasant", "solid", "competent", "pretty", "watchable"]
MILD_BAD = [
    "a bit slow", "uneven", "rough around the edges", "a little clumsy", "thin", "forced",
    "dated", "patchy",
]
# fmt: on

OPENINGS = [
    "I rented {title} on a whim last {day}.",
    "{title} ({year}) is a {genre} from director {director}.",
    "My {companion} talked me into seeing {title} at the local cinema.",
    "I had heard a lot about {title} before I finally sat down to watch it.",
    "Caught {title} on late-night TV the other {day}.",
    "{title} turned up on a streaming service I use, so I gave it a try.",
    "This is the third film I've seen from {director}.",
    "Watched {title} with my {companion} last {day}.",
    "I saw {title} at a festival screening back in {year}.",
    "Somebody on a forum recommended {title}, so here we are.",
    "{director}'s {title} is a {genre} set {setting}.",
    "I picked up {title} in a bargain bin for two dollars.",
]

PLOTS = [
    "The story follows {role} {setting} who {action}.",
    "It's about {role} who {action}.",
    "{lead} plays {role} who {action}, and {second} turns up as an old friend.",
    "Without giving too much away, {role} {action}, and things get complicated from there.",
    "The plot: {role} {setting} {action}.",
    "{lead} stars as {role}, with {second} in a smaller part.",
    "Set {setting}, the film follows {role} who {action}.",
]

NEUTRAL = [
    "It runs about {minutes} minutes.",
    "I watched it with the subtitles on.",
    "The DVD has a commentary track by {director}.",
    "It reminded me a little of {other}.",
    "It was shot on location {setting}.",
    "I went in knowing almost nothing about it.",
    "The trailer gives away more than it should.",
    "{second} also appeared in {other} a few years earlier.",
    "The version I saw was the director's cut.",
    "The sound &amp; picture quality of the disc are fine.",
]

GOOD_LINES = [
    "The {aspect} is {good}.",
    "{lead} gives a {good} performance, easily a career best.",
    "I thought the {aspect} was {good} and the {aspect} even better.",
    "The {aspect} is {good}, and the {aspect} is just as {good}.",
    "{second} is {good} in a small role and steals every scene.",
    "What a {good} {genre}!",
    "Every scene with {lead} is {good}.",
    "The {aspect} kept me hooked from start to finish.",
    "I laughed, I cried, and I loved every minute of it.",
    "The chemistry between {lead} and {second} is {good}.",
    "{director} handles the {aspect} with real care, and it shows.",
    "The {aspect} alone is worth the price of admission.",
    "It is a {good} and {good} piece of filmmaking.",
    "The {aspect} builds beautifully to a {good} finale.",
    "Honestly, the {aspect} blew me away.",
    "It never once felt boring, even on a second viewing.",
    "The whole cast is {good}, especially {lead}.",
    "I can't remember the last time a {genre} made me feel this much.",
]

BAD_LINES = [
    "The {aspect} is {bad}.",
    "{lead} gives a {bad} performance and looks bored the whole time.",
    "I thought the {aspect} was {bad} and the {aspect} was even worse.",
    "The {aspect} is {bad}, and the {aspect} is just as {bad}.",
    "{second} is wasted in a small role with nothing to do.",
    "What a {bad} {genre}.",
    "Every scene with {lead} is {bad}.",
    "The {aspect} had me checking my watch after twenty minutes.",
    "I nearly walked out halfway through.",
    "There is zero chemistry between {lead} and {second}.",
    "{director} has no idea what to do with the {aspect}, and it shows.",
    "The {aspect} alone is enough to put you to sleep.",
    "It is a {bad} and {bad} piece of filmmaking.",
    "The {aspect} falls apart long before the {bad} finale.",
    "Honestly, the {aspect} made me want to give up on movies.",
    "It was not funny, not scary and not even interesting.",
    "The whole cast is {bad}, especially {lead}.",
    "I can't remember the last time a {genre} wasted so much of my time.",
]

# Against the verdict, kept mild so the review still reads one way overall.
GOOD_ASIDES = [
    "The {aspect} is {mild_good}, but that is about all it has going for it.",
    "To be fair, {lead} tries hard and the {aspect} is {mild_good}.",
    "There are one or two {mild_good} moments early on.",
]

BAD_ASIDES = [
    "The {aspect} is {mild_bad}, but that hardly matters.",
    "Sure, the {aspect} is {mild_bad} in places.",
    "It is not perfect: the {aspect} is {mild_bad}.",
]

GOOD_CLOSINGS = [
    "Highly recommended.",
    "{rating}/10, and I'll be watching it again.",
    "Don't miss it.",
    "One of the best {genres} I've seen in years.",
    "A real gem, go and see it.",
    "I'd happily watch it again tomorrow. {rating} out of 10.",
    "Easily one of my favourite films of {year}.",
    "Worth every minute.",
]

BAD_CLOSINGS = [
    "Avoid.",
    "{rating}/10, and that's being generous.",
    "Save your money.",
    "One of the worst {genres} I've seen in years.",
    "A complete waste of time.",
    "I want those two hours back. {rating} out of 10.",
    "Easily one of the worst films of {year}.",
    "Skip it.",
]
