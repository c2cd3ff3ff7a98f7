"""Word pools the generator draws text from: awkward on purpose.

Unicode names, quotes, commas, semicolons and newlines inside values,
formula-looking text, tabs: the data every CSV writer, search index and
value converter has to get right.
"""

from __future__ import annotations

FIRST = ["Zo\u00eb", "Jos\u00e9", "\u0141ukasz", "Ng\u1ecdc", "Ahmed", "S\u00f8ren", "Anna", "John",
         "Mar\u00eda", "Li", "Priya", "Chlo\u00e9", "Ren\u00e9e", "\u00c6lfred", "Fran\u00e7ois",
         "Olu", "Hiroshi", "Siobh\u00e1n", "Mia", "Ana-Sof\u00eda", "Ji-woo", "Olga", "Tom\u00e1s",
         "Aarav", "Emma", "Noah", "Leilani", "Bj\u00f6rk", "\u0410\u043b\u0435\u043a\u0441\u0435\u0439",
         "\u674e\u534e"]
LAST = ["O'Brien", "M\u00fcller", "Nguy\u1ec5n", "D'Angelo", "van der Berg", "\u00d3 S\u00failleabh\u00e1in",
        "Smith", "Garc\u00eda", "Kowalski", "Tanaka", "Patel", "Johnson", "Okafor", "Dubois",
        "Smith, Jr.", "\u00c5str\u00f6m", "Rossi", "Kim", "Silva", "\u041f\u0435\u0442\u0440\u043e\u0432",
        "\u738b", "Hern\u00e1ndez", "Lef\u00e8vre", "Brown", "Wilson", "\"Doc\" Holliday", "Novak",
        "Yilmaz", "Haddad", "Andersen"]
ASCII_FIRST = ["zoe", "jose", "lukasz", "ngoc", "ahmed", "soren", "anna", "john", "maria", "li", "priya",
               "chloe", "renee", "aelfred", "francois", "olu", "hiroshi", "siobhan", "mia", "anasofia",
               "jiwoo", "olga", "tomas", "aarav", "emma", "noah", "leilani", "bjork", "aleksei", "lihua"]
COMPANIES = ["Acme, Inc.", "Globex", "Initech", "Umbrella Corp", "Stark Industries", "Wayne Enterprises",
             "M\u00fcller & S\u00f6hne GmbH", "Soylent", "Hooli", "Pied Piper", "Vandelay Industries",
             "The \"Best\" Company", "Tyrell Corp", "Cyberdyne Systems", "\u682a\u5f0f\u4f1a\u793e\u30c6\u30b9\u30c8",
             "Oceanic Airlines", "Nakatomi Trading", "Wonka Industries", "Gringotts", "Aperture Science",
             "Ol\u00e1 Ltda.", "Duff Beer, LLC", "Los Pollos Hermanos", "Prestige Worldwide",
             "Kr\u00e1sn\u00e1 s.r.o.", "Sirius Cybernetics", "Bluth Company", "Dunder Mifflin",
             "Zorg Industries", "Massive Dynamic"]
DOMAINS = ["example.com", "example.org", "acme.example", "mail.example", "corp.example.net"]
CITIES = ["S\u00e3o Paulo", "Z\u00fcrich", "M\u00fcnchen", "Krak\u00f3w", "Reykjav\u00edk",
          "\u6771\u4eac", "New York", "Chennai", "Lagos", "Paris", "Berlin", "Toronto", "Sydney",
          "Bengaluru", "Austin", "Dublin", "Montr\u00e9al", "Seoul", "Mexico City", "Cape Town"]
STATES = ["CA", "NY", "TX", "Bavaria", "\u00cele-de-France", "Karnataka", "Ontario", "NSW", "Tamil Nadu",
          "Z\u00fcrich", "WA", "MA"]
COUNTRIES = ["United States", "Germany", "India", "Brazil", "Japan", "France", "Canada", "Australia",
             "Switzerland", "Nigeria", "Ireland", "C\u00f4te d'Ivoire", "South Korea", "Mexico",
             "United Kingdom", "Poland"]
STREETS = ["12 Main St", "221B Baker Street", "Apt. 4, 17 Elm Road", "1600 Amphitheatre Pkwy",
           "Stra\u00dfe des 17. Juni 135", "Rua Augusta, 1500", "7 Chome-1 Nishishinjuku",
           "#42, 3rd Cross, Indiranagar", "350 Fifth Avenue; Floor 21", "Calle \"Mayor\" 3"]
TITLES = ["CEO", "CTO", "VP Sales", "Head of Data", "Data Engineer", "Procurement Manager",
          "Directeur g\u00e9n\u00e9ral", "Purchasing, EMEA", "Office Manager", "Analyst"]
DEPARTMENTS = ["Sales", "IT", "Finance", "Operations", "R&D", "Marketing", "Legal"]
PRODUCTS = ["CRM rollout", "Data migration", "Support plan", "Licenses (50 seats)", "Analytics add-on",
            "Renewal 2025", "Pilot, phase 2", "Onboarding \u00e9quipe"]
NEXT_STEPS = ["Send proposal", "Call back Monday", "Demo, then pricing", "Waiting on legal", "Follow up"]
TASK_SUBJECTS = ["Call back", "Send contract", "Prepare demo", "Email \"pricing\" sheet", "Review SOW",
                 "Follow up, again", "Kick-off meeting", "Renewal check"]
PROJECT_NAMES = ["Apollo", "Borealis", "Cobalt", "Delta Migration", "\u00c9clair", "Fjord", "Gemini",
                 "Helios, phase 2", "Ivy", "Juniper"]
MILESTONES = ["Design", "Build", "Test", "Go-live", "Hypercare", "Sign-off"]
DESCRIPTIONS = [
    "Met at the trade show.\nInterested in the \"Enterprise\" plan, wants a quote by Friday.",
    "Line one\nLine two, with a comma\nLine three; with a semicolon",
    "Prefers email. Do not call before 10:00 (CET).",
    "Caf\u00e9 owner \u2014 na\u00efve questions welcome \u2615",
    "=SUM(A1:A3) looks like a formula but is text",
    "Tab\tseparated\tnotes",
    "Quotes: 'single' and \"double\" and \u201ccurly\u201d",
    "\u8cc7\u6599\u79fb\u884c\u306e\u4ef6\u3067\u9023\u7d61\u3002",
]
RICH_TEXT = ["<p>Kick-off <b>done</b>.</p>", "<div>Risks:<ul><li>scope</li><li>data, quality</li></ul></div>",
             "<p>Budget &amp; timeline agreed</p>"]
PHONES = ["+1 555 0100", "(555) 010-1234", "+44 20 7946 0958", "+91 98765 43210", "+49 30 901820",
          "555.010.9999", "+55 11 91234-5678", "+81 3-1234-5678"]
WEBSITES = ["https://www.acme.example", "http://globex.example.com", "https://initech.example/about",
            "https://xn--mller-kva.example", "www.hooli.example"]
