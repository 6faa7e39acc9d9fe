"""Small built-in word lists for fictional people, suppliers, items and job titles (no real persons or firms)."""

from __future__ import annotations

FIRST_NAMES = [
    "Anouk", "Bas", "Carlijn", "Daan", "Elif", "Floor", "Gijs", "Hanneke", "Ilse", "Joost", "Karim", "Lotte",
    "Maarten", "Nadia", "Olaf", "Petra", "Quinten", "Rosa", "Sander", "Tamara", "Umut", "Vera", "Wessel",
    "Yasmin", "Zoë", "Arjen", "Brechtje", "Cor", "Dewi", "Emre", "Fenna", "Gerben", "Hilde", "Ivo", "Jolien",
    "Koen", "Linde", "Mirjam", "Niek", "Priya", "Ruben", "Sanne", "Thijs", "Ymke", "Wouter", "Aylin", "Bram",
    "Charlotte", "Dirk", "Esther", "Frank", "Germaine", "Hugo", "Inge", "Jasper", "Kirsten", "Lucas", "Merel",
]

LAST_NAMES = [
    "de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot",
    "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
    "de Graaf", "van der Meer", "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Berg", "van der Linden",
    "Koster", "Prins", "Huisman", "Peeters", "Kuipers", "van Veen", "Post", "Schouten", "Willems", "Hoekstra",
    "Maas", "Verhoeven", "Koopman", "Bosman", "Aydın", "El Amrani", "Wijaya", "Kramer", "van Wijk",
    "Timmermans", "Groen", "Gerritsen", "Veenstra", "Lammers", "Sedney", "Nijholt", "Oosterhuis", "Ramdin",
]

VENDOR_STEMS = [
    "Medi", "Noord", "Zuid", "Delta", "Polder", "Rijn", "Duin", "Helder", "Vita", "Lumen", "Klaver", "Kade",
    "Sterre", "Orion", "Baken", "Vlier", "Linde", "Zilver", "Kompas", "Haven", "Eiland", "Meander", "Dauw",
]
VENDOR_SUFFIXES = {
    "medical": ["care", "med", "lab", "pharma", "diagnostics", "surgical", "vision", "clinic supplies"],
    "non-medical": ["facility", "office", "tech", "clean", "logistics", "catering", "print", "energy"],
}
LEGAL_FORMS = ["B.V.", "B.V.", "B.V.", "N.V.", "GmbH", "Ltd"]

# name, category, unit price in EUR, the site kinds that stock it
STOCK_ITEMS = [
    ("Nitrile gloves M (box of 100)", "medical", 6.5, ("hospital", "clinic", "lab")),
    ("Syringe 10 ml", "medical", 0.18, ("hospital", "clinic")),
    ("IV cannula 20G", "medical", 1.9, ("hospital",)),
    ("Contrast agent 100 ml", "medical", 48.0, ("hospital",)),
    ("Wound dressing 10x10", "medical", 0.9, ("hospital", "clinic")),
    ("Surgical mask type IIR (box of 50)", "medical", 7.5, ("hospital", "clinic", "lab")),
    ("CRP reagent kit", "medical", 310.0, ("lab",)),
    ("Blood culture bottle", "medical", 4.2, ("lab", "hospital")),
    ("Microscope slides (box of 72)", "medical", 9.8, ("lab",)),
    ("Formalin container 60 ml", "medical", 1.4, ("lab", "hospital")),
    ("ECG electrodes (pack of 50)", "medical", 11.0, ("hospital", "clinic")),
    ("Hand disinfectant 500 ml", "non-medical", 3.9, ("hospital", "clinic", "lab")),
    ("Printer toner", "non-medical", 85.0, ("hospital", "clinic", "lab")),
    ("Paper towels (case)", "non-medical", 24.0, ("hospital", "clinic", "lab")),
    ("Patient wristbands (roll)", "non-medical", 32.0, ("hospital",)),
    ("Specimen bags (pack of 500)", "non-medical", 19.0, ("lab", "hospital")),
]

CLINICAL_POSITIONS = ["Nurse", "Nurse", "Nurse", "Physician", "Radiographer", "Laboratory technician",
                      "Physiotherapist", "Pharmacy assistant", "Doctor's assistant"]
SUPPORT_POSITIONS = ["Department secretary", "Facilities technician", "IT specialist", "Administrative assistant",
                     "Logistics employee"]
