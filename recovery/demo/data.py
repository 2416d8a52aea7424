"""Static data for the demo business: companies, product groups, products and names.

Everything here is invented for the demo (the cities and their dialling codes are real).
Prices are list prices in euro, net; ``vat`` is 7 or 19 (German VAT rates).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Company:
    name: str
    order_prefix: str
    groups: tuple[str, ...]  # product group codes the company sells


@dataclass(frozen=True, slots=True)
class ProductGroup:
    code: str  # also the prefix of the article numbers
    name: str  # the Warengruppe as the WaWi shows it
    interval: int  # typical days between two orders of a re-ordering customer
    vat: int
    season: tuple[float, ...]  # relative demand January..December
    base_qty: float  # typical quantity per line for a private customer


GROUPS: tuple[ProductGroup, ...] = (
    ProductGroup("SA", "Saatgut", 150, 7, (3, 6, 10, 9, 5, 3, 2, 2, 3, 2, 1, 2), 1.8),
    ProductGroup("DU", "Dünger", 70, 19, (1, 2, 6, 9, 8, 6, 5, 4, 3, 2, 1, 1), 1.2),
    ProductGroup("PS", "Pflanzenschutz", 100, 19, (1, 1, 3, 7, 8, 8, 7, 5, 3, 2, 1, 1), 1.0),
    ProductGroup("ER", "Erden & Substrate", 60, 19, (1, 2, 7, 10, 8, 4, 3, 3, 4, 3, 1, 1), 2.5),
    ProductGroup("GG", "Gartengeräte", 365, 19, (1, 2, 6, 7, 6, 4, 3, 3, 4, 3, 3, 6), 1.0),
    ProductGroup("BW", "Bewässerung", 240, 19, (1, 1, 2, 5, 8, 9, 8, 5, 2, 1, 1, 2), 1.0),
    ProductGroup("TP", "Topfpflanzen", 45, 7, (3, 3, 5, 7, 8, 5, 4, 4, 5, 5, 6, 9), 1.4),
    ProductGroup("SB", "Schnittblumen", 28, 7, (5, 9, 6, 6, 10, 6, 5, 5, 5, 5, 5, 9), 1.3),
    ProductGroup("GM", "Gartenmöbel", 730, 19, (1, 1, 4, 8, 9, 7, 4, 2, 1, 1, 1, 2), 1.0),
    ProductGroup("GZ", "Grillzubehör", 120, 19, (1, 1, 2, 5, 8, 10, 10, 7, 3, 2, 1, 1), 1.2),
    ProductGroup("TB", "Tierbedarf", 35, 19, (8, 7, 5, 4, 4, 4, 4, 4, 5, 6, 8, 9), 1.3),
    ProductGroup("WZ", "Werkzeug", 200, 19, (4, 4, 5, 5, 5, 4, 4, 4, 5, 5, 7, 12), 1.0),
)

_ALL = tuple(g.code for g in GROUPS)

# Seasons of the seasonal customers: (months, product group codes bought in them)
SEASONS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "garden": ((3, 4, 5, 6), ("SA", "DU", "ER", "PS", "BW")),
    "christmas": ((11, 12), ("TP", "SB", "WZ")),
}

COMPANIES: tuple[Company, ...] = (
    Company("Gartenwelt Müller GmbH", "GW", _ALL),
    Company("Müller Profi-Handel GmbH", "PH", ("SA", "DU", "PS", "ER", "GG", "BW", "WZ")),
    Company("Blumenstube Online", "BS", ("SB", "TP", "DU", "SA")),
)

# (group code, name, net list price in euro, VAT if it differs from the group's)
PRODUCTS: tuple[tuple[str, str, float, int | None], ...] = (
    ("SA", "Tomatensamen 'Harzfeuer'", 2.49, None),
    ("SA", "Gurkensamen 'Marketmore'", 2.29, None),
    ("SA", "Karottensamen 'Nantaise 2'", 1.99, None),
    ("SA", "Radieschen-Saatband 5 m", 2.79, None),
    ("SA", "Kräutersaat-Mischung Küchenkräuter", 3.49, None),
    ("SA", "Pflücksalat-Mischung bunt", 2.19, None),
    ("SA", "Blumenwiese 'Bienenfreund' 500 g", 14.90, None),
    ("SA", "Rasensamen Sport & Spiel 2 kg", 24.90, None),
    ("SA", "Schattenrasen 1 kg", 16.90, None),
    ("SA", "Sonnenblumensamen 'Riesen'", 2.49, None),
    ("SA", "Buschbohne 'Saxa'", 2.99, None),
    ("SA", "Saatkartoffeln 'Linda' 2,5 kg", 7.95, None),
    ("SA", "Regelsaatgut RSM 3.1 Gebrauchsrasen 10 kg", 79.00, None),
    ("DU", "Rasendünger mit Langzeitwirkung 10 kg", 29.90, None),
    ("DU", "Tomatendünger flüssig 1 l", 6.49, None),
    ("DU", "Blaukorn Volldünger 5 kg", 19.90, None),
    ("DU", "Hornspäne 2,5 kg", 9.99, None),
    ("DU", "Rosendünger organisch 2,5 kg", 12.49, None),
    ("DU", "Gartenkalk 10 kg", 11.90, None),
    ("DU", "Orchideendünger 250 ml", 4.99, None),
    ("DU", "Grünpflanzendünger 1 l", 5.79, None),
    ("DU", "Kompostbeschleuniger 3 kg", 14.90, None),
    ("DU", "Rhododendrondünger 2,5 kg", 10.90, None),
    ("DU", "Profi-Rasendünger NPK 20-5-8 25 kg", 59.00, None),
    ("DU", "Flüssigdünger Kanister 10 l", 39.90, None),
    ("DU", "Schafwollpellets 5 kg", 17.90, None),
    ("PS", "Schneckenkorn Bio 1 kg", 12.99, None),
    ("PS", "Neem-Schädlingsfrei 250 ml", 14.49, None),
    ("PS", "Gelbtafeln 10 Stück", 5.99, None),
    ("PS", "Buchsbaumzünsler-Falle", 19.90, None),
    ("PS", "Unkrautfrei Bio 1 l", 16.90, None),
    ("PS", "Pilzfrei Rosenspray 500 ml", 11.49, None),
    ("PS", "Nematoden gegen Dickmaulrüssler", 29.90, None),
    ("PS", "Frostschutzvlies 2 x 10 m", 9.99, None),
    ("PS", "Kulturschutznetz 2 x 5 m", 17.90, None),
    ("PS", "Leimringe für Obstbäume", 7.49, None),
    ("PS", "Raupenleim 250 g", 8.99, None),
    ("PS", "Insektizid-Konzentrat Profi 1 l", 49.90, None),
    ("ER", "Blumenerde torffrei 40 l", 8.99, None),
    ("ER", "Tomatenerde 40 l", 7.99, None),
    ("ER", "Kräutererde 20 l", 5.49, None),
    ("ER", "Rhododendronerde 50 l", 9.99, None),
    ("ER", "Kübelpflanzenerde 60 l", 13.90, None),
    ("ER", "Anzuchterde 20 l", 4.99, None),
    ("ER", "Rasenerde 40 l", 7.49, None),
    ("ER", "Rindenmulch 60 l", 6.99, None),
    ("ER", "Blähton 25 l", 11.90, None),
    ("ER", "Pinienrinde grob 50 l", 14.90, None),
    ("ER", "Dachbegrünungssubstrat Big Bag 1 m³", 189.00, None),
    ("ER", "Containersubstrat 70 l", 16.90, None),
    ("ER", "Hochbeeterde 70 l", 12.90, None),
    ("GG", "Spaten Edelstahl", 39.90, None),
    ("GG", "Grabegabel", 34.90, None),
    ("GG", "Rosenschere Bypass", 24.90, None),
    ("GG", "Heckenschere Teleskop", 49.90, None),
    ("GG", "Akku-Rasenmäher 36 V", 399.00, None),
    ("GG", "Laubbesen verstellbar", 14.90, None),
    ("GG", "Schubkarre 100 l", 89.00, None),
    ("GG", "Astschere Amboss", 44.90, None),
    ("GG", "Akku-Heckenschere 18 V", 149.00, None),
    ("GG", "Vertikutierer elektrisch", 189.00, None),
    ("GG", "Gartenhacke", 19.90, None),
    ("GG", "Pflanzkelle Edelstahl", 9.90, None),
    ("BW", "Gartenschlauch 1/2 Zoll 25 m", 34.90, None),
    ("BW", "Schlauchwagen", 59.90, None),
    ("BW", "Gießkanne 10 l", 12.90, None),
    ("BW", "Regentonne 300 l", 79.00, None),
    ("BW", "Tropfbewässerung Starter-Set", 49.90, None),
    ("BW", "Viereckregner", 29.90, None),
    ("BW", "Bewässerungscomputer", 69.90, None),
    ("BW", "Schlauchkupplung-Set", 9.99, None),
    ("BW", "Gartenbrause Multi", 14.90, None),
    ("BW", "Regenfasspumpe", 129.00, None),
    ("BW", "Tropfer 10 Stück", 6.49, None),
    ("BW", "Tauchpumpe 600 W", 89.00, None),
    ("TP", "Monstera deliciosa 60 cm", 29.90, None),
    ("TP", "Orchidee Phalaenopsis 2 Rispen", 19.90, None),
    ("TP", "Hängegeranie 12er-Topf", 3.49, None),
    ("TP", "Lavendel 'Hidcote' 13 cm", 4.99, None),
    ("TP", "Olivenbaum 120 cm", 89.00, None),
    ("TP", "Weihnachtsstern rot 12 cm", 6.99, None),
    ("TP", "Hortensie 'Bouquet Rose'", 14.90, None),
    ("TP", "Basilikum im Topf", 2.79, None),
    ("TP", "Buchsbaum-Kugel 30 cm", 24.90, None),
    ("TP", "Strelitzie 80 cm", 39.90, None),
    ("TP", "Sukkulenten-Mix 6 Stück", 14.90, None),
    ("TP", "Zitronenbaum 80 cm", 49.90, None),
    ("TP", "Balkonpflanzen-Set 10 Stück", 24.90, None),
    ("SB", "Rosen rot 10 Stiele", 14.90, None),
    ("SB", "Tulpen gemischt 20 Stiele", 12.90, None),
    ("SB", "Saisonstrauß klein", 19.90, None),
    ("SB", "Saisonstrauß groß", 34.90, None),
    ("SB", "Sonnenblumen 5 Stiele", 9.90, None),
    ("SB", "Pfingstrosen 5 Stiele", 17.90, None),
    ("SB", "Eukalyptus Bund", 6.90, None),
    ("SB", "Tischgesteck Gastronomie", 24.90, None),
    ("SB", "Trockenblumenstrauß", 29.90, None),
    ("SB", "Adventskranz frisch", 39.90, None),
    ("SB", "Brautstrauß", 79.00, None),
    ("SB", "Schleierkraut Bund", 7.90, None),
    ("SB", "Monatsstrauß im Abo", 29.90, None),
    ("GM", "Klappstuhl Akazie", 59.90, None),
    ("GM", "Gartentisch 160 x 90 cm", 299.00, None),
    ("GM", "Sonnenschirm 3 m", 149.00, None),
    ("GM", "Hollywoodschaukel", 399.00, None),
    ("GM", "Liegestuhl Textilene", 89.00, None),
    ("GM", "Auflage Hochlehner", 29.90, None),
    ("GM", "Loungeset 4-teilig", 899.00, None),
    ("GM", "Gartenbank 3-Sitzer", 249.00, None),
    ("GM", "Schutzhülle Gartenmöbel", 24.90, None),
    ("GM", "Schirmständer 50 kg", 69.00, None),
    ("GM", "Bistroset 3-teilig", 179.00, None),
    ("GM", "Hängesessel", 129.00, None),
    ("GZ", "Holzkohle Buche 10 kg", 16.90, None),
    ("GZ", "Grillbriketts 10 kg", 14.90, None),
    ("GZ", "Anzündkamin", 24.90, None),
    ("GZ", "Grillbesteck 3-teilig", 29.90, None),
    ("GZ", "Grillrostbürste", 12.90, None),
    ("GZ", "Gasflasche 11 kg Füllung", 29.90, None),
    ("GZ", "Kugelgrill 57 cm", 229.00, None),
    ("GZ", "Gasgrill 3 Brenner", 499.00, None),
    ("GZ", "Grillhandschuhe", 19.90, None),
    ("GZ", "Räucherchips Buche", 6.99, None),
    ("GZ", "Pizzastein", 34.90, None),
    ("GZ", "Grillabdeckhaube", 34.90, None),
    ("TB", "Wildvogelfutter 5 kg", 14.99, 7),
    ("TB", "Meisenknödel 30 Stück", 12.99, 7),
    ("TB", "Futterhaus Holz", 39.90, None),
    ("TB", "Insektenhotel", 29.90, None),
    ("TB", "Igelfutter 750 g", 9.99, 7),
    ("TB", "Hundetrockenfutter 12 kg", 49.90, 7),
    ("TB", "Katzenstreu 20 l", 12.90, None),
    ("TB", "Kaninchenfutter 2,5 kg", 8.99, 7),
    ("TB", "Hühnerfutter Legemehl 25 kg", 24.90, 7),
    ("TB", "Nistkasten Meise", 19.90, None),
    ("TB", "Katzennassfutter 24 x 100 g", 17.90, 7),
    ("TB", "Teichfutter 5 l", 24.90, 7),
    ("TB", "Kleintierstreu 60 l", 11.90, None),
    ("WZ", "Akku-Bohrschrauber 18 V", 129.00, None),
    ("WZ", "Bit-Set 32-teilig", 19.90, None),
    ("WZ", "Arbeitshandschuhe 12 Paar", 24.90, None),
    ("WZ", "Schraubendreher-Set 6-teilig", 24.90, None),
    ("WZ", "Zollstock 2 m", 7.99, None),
    ("WZ", "Wasserwaage 60 cm", 19.90, None),
    ("WZ", "Schlosserhammer 500 g", 14.90, None),
    ("WZ", "Handsäge 500 mm", 21.90, None),
    ("WZ", "Werkzeugkoffer bestückt", 89.00, None),
    ("WZ", "Akku-Kettensäge 36 V", 279.00, None),
    ("WZ", "Arbeitsleuchte LED", 34.90, None),
    ("WZ", "Kabeltrommel 25 m", 49.90, None),
)

FIRST_NAMES: tuple[str, ...] = (
    # female
    "Anna", "Maria", "Sophie", "Laura", "Julia", "Lea", "Hannah", "Lena", "Katharina",
    "Sabine", "Petra", "Monika", "Ursula", "Claudia", "Andrea", "Stefanie", "Nicole",
    "Susanne", "Birgit", "Heike", "Karin", "Renate", "Ingrid", "Gisela", "Christina",
    "Melanie", "Sandra", "Nadine", "Jessica", "Franziska", "Johanna", "Charlotte", "Emilia",
    "Mia", "Greta", "Paula", "Elif", "Ayşe", "Zeynep", "Fatma", "Natalia", "Agnieszka",
    "Olga", "Irina", "Swetlana", "Giulia", "Francesca", "Eleni", "Dragana", "Amira",
    "Leyla", "Yasmin", "Marie", "Clara", "Helga", "Ilse", "Doris", "Brigitte", "Jutta",
    "Silke", "Anja", "Kerstin", "Daniela", "Tanja", "Małgorzata", "Chiara", "Mei",
    # male
    "Thomas", "Michael", "Andreas", "Stefan", "Peter", "Klaus", "Jürgen", "Wolfgang",
    "Hans", "Frank", "Markus", "Christian", "Martin", "Uwe", "Bernd", "Ralf", "Dieter",
    "Günter", "Matthias", "Tobias", "Sebastian", "Florian", "Jan", "Lukas", "Jonas",
    "Felix", "Maximilian", "Paul", "Leon", "Finn", "Mehmet", "Mustafa", "Ahmet", "Emre",
    "Can", "Piotr", "Tomasz", "Marek", "Dmitri", "Sergej", "Alexander", "Luca", "Marco",
    "Giorgos", "Nikolaos", "Milan", "Ivan", "Ali", "Omar", "Karim", "Hassan", "Björn",
    "Sven", "Jörg", "Rüdiger", "Horst", "Heinz", "Timo", "Niklas", "Moritz", "Kai",
    "Dirk", "Volker", "Oliver", "René", "Minh", "Duc",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
    "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
    "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann",
    "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer",
    "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung",
    "Hahn", "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger",
    "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster",
    "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher", "Krämer",
    "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt",
    "Haas", "Schreiber", "Graf", "Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl",
    "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt", "Sauer", "Arnold", "Wolff",
    "Pfeiffer", "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Öztürk", "Aydın", "Arslan",
    "Doğan", "Kowalski", "Nowak", "Wiśniewski", "Lewandowski", "Kamiński", "Zieliński",
    "Iwanow", "Petrow", "Schmidtke", "Popow", "Rossi", "Russo", "Ferrari", "Esposito",
    "Bianchi", "Papadopoulos", "Georgiou", "Jovanović", "Petrović", "Nguyen", "Tran",
    "Haddad", "Khalil", "Hosseini", "Rahimi", "Novak", "Horvat", "Kovačević", "García",
    "Fernández", "da Silva", "Pereira", "Hansen", "Jensen", "van der Berg", "de Vries",
    "Nowotny", "Gruber", "Steiner", "Moser", "Brunner", "Leitner", "Egger", "Wyss",
)  # fmt: skip

# (city, dialling code, weight); DE weights flatten the population on purpose.
CITIES: dict[str, tuple[tuple[str, str, float], ...]] = {
    "DE": (
        ("Berlin", "030", 10), ("Hamburg", "040", 7), ("München", "089", 7),
        ("Köln", "0221", 6), ("Frankfurt am Main", "069", 5), ("Stuttgart", "0711", 5),
        ("Düsseldorf", "0211", 4), ("Leipzig", "0341", 4), ("Dortmund", "0231", 4),
        ("Essen", "0201", 4), ("Bremen", "0421", 3.5), ("Dresden", "0351", 3.5),
        ("Hannover", "0511", 3.5), ("Nürnberg", "0911", 3.5), ("Duisburg", "0203", 3),
        ("Bochum", "0234", 3), ("Wuppertal", "0202", 3), ("Bielefeld", "0521", 3),
        ("Bonn", "0228", 3), ("Münster", "0251", 3), ("Mannheim", "0621", 3),
        ("Karlsruhe", "0721", 3), ("Augsburg", "0821", 3), ("Wiesbaden", "0611", 2.5),
        ("Mönchengladbach", "02161", 2.5), ("Braunschweig", "0531", 2.5), ("Kiel", "0431", 2.5),
        ("Aachen", "0241", 2.5), ("Chemnitz", "0371", 2.5), ("Halle (Saale)", "0345", 2.5),
        ("Magdeburg", "0391", 2.5), ("Freiburg im Breisgau", "0761", 2.5), ("Krefeld", "02151", 2),
        ("Mainz", "06131", 2), ("Lübeck", "0451", 2), ("Erfurt", "0361", 2),
        ("Oberhausen", "0208", 2), ("Rostock", "0381", 2), ("Kassel", "0561", 2),
        ("Hagen", "02331", 2), ("Potsdam", "0331", 2), ("Saarbrücken", "0681", 2),
        ("Osnabrück", "0541", 2), ("Oldenburg", "0441", 2), ("Heidelberg", "06221", 2),
        ("Darmstadt", "06151", 2), ("Regensburg", "0941", 2), ("Würzburg", "0931", 2),
        ("Ulm", "0731", 2), ("Ingolstadt", "0841", 1.3), ("Göttingen", "0551", 1.5),
        ("Koblenz", "0261", 1.5), ("Trier", "0651", 1.5), ("Jena", "03641", 1.5),
        ("Gießen", "0641", 1.5), ("Bamberg", "0951", 1.5), ("Konstanz", "07531", 1.5),
        ("Lüneburg", "04131", 1.2), ("Fulda", "0661", 1.2), ("Landshut", "0871", 1.2),
        ("Rosenheim", "08031", 1.2), ("Kempten (Allgäu)", "0831", 1.2), ("Bayreuth", "0921", 1.2),
        ("Passau", "0851", 1), ("Schwerin", "0385", 1), ("Cottbus", "0355", 1),
        ("Gütersloh", "05241", 1), ("Paderborn", "05251", 1.3), ("Ludwigsburg", "07141", 1.3),
        ("Esslingen am Neckar", "0711", 1.3), ("Reutlingen", "07121", 1.2),
        ("Tübingen", "07071", 1.2), ("Heilbronn", "07131", 1.3), ("Pforzheim", "07231", 1.2),
        ("Offenburg", "0781", 1), ("Ravensburg", "0751", 1), ("Celle", "05141", 1),
        ("Hildesheim", "05121", 1), ("Wolfsburg", "05361", 1.2), ("Flensburg", "0461", 1),
        ("Stralsund", "03831", 0.8), ("Weimar", "03643", 0.8), ("Görlitz", "03581", 0.7),
        ("Zwickau", "0375", 0.9), ("Neuss", "02131", 1.3), ("Siegen", "0271", 1.1),
        ("Marburg", "06421", 1), ("Speyer", "06232", 0.8), ("Worms", "06241", 0.9),
        ("Kaiserslautern", "0631", 1.1), ("Erlangen", "09131", 1.2), ("Fürth", "0911", 1.2),
    ),
    "AT": (
        ("Wien", "01", 3), ("Graz", "0316", 1.5), ("Linz", "0732", 1.2), ("Salzburg", "0662", 1.2),
        ("Innsbruck", "0512", 1), ("Klagenfurt", "0463", 0.7), ("Villach", "04242", 0.5),
    ),
    "CH": (
        ("Zürich", "044", 2), ("Basel", "061", 1.2), ("Bern", "031", 1.2),
        ("St. Gallen", "071", 0.8), ("Luzern", "041", 0.8), ("Winterthur", "052", 0.7),
    ),
}  # fmt: skip

COUNTRY_SHARES: tuple[tuple[str, float], ...] = (("DE", 0.90), ("AT", 0.06), ("CH", 0.04))

MOBILE_PREFIXES: dict[str, tuple[str, ...]] = {
    "DE": ("0151", "0152", "0157", "0159", "0160", "0162", "0170", "0171", "0172", "0173",
           "0174", "0175", "0176", "0177", "0178", "0179"),
    "AT": ("0664", "0676", "0650", "0699", "0660"),
    "CH": ("076", "077", "078", "079"),
}  # fmt: skip

COUNTRY_CODES = {"DE": "49", "AT": "43", "CH": "41"}

# B2C mail domains; business mail goes to a subdomain of a reserved example domain.
PRIVATE_MAIL_DOMAINS: tuple[str, ...] = (
    "example.de", "example.de", "example.de", "example.com", "example.com", "example.org",
    "example.net",
)  # fmt: skip
BUSINESS_MAIL_PARENTS: tuple[str, ...] = ("example.com", "example.net", "example.org")

RESTAURANT_NAMES: tuple[str, ...] = (
    "Zur Linde", "Zum Anker", "Am Markt", "Zur Post", "Seeblick", "Sonne", "Adler", "Krone",
    "Lindenhof", "Rosengarten", "Zum Hirschen", "Am Stadtpark", "Mühlenhof", "Alte Schmiede",
)  # fmt: skip

# Firm name patterns per Kundengruppe: {n} last name, {n2} another, {v} first name,
# {o} city, {r} a restaurant name.
FIRM_PATTERNS: dict[str, tuple[str, ...]] = {
    "Händler": (
        "Gärtnerei {n}", "Blumenhaus {n}", "Hofladen {n}", "Baumschule {n} KG",
        "{n} Gartenbedarf e.K.", "Landhandel {n} GmbH", "Floristik {v} {n}",
        "Zoo & Garten {n}", "{n} & {n2} OHG", "Gartencenter {o} GmbH", "Blumen {n} e.K.",
    ),
    "Gastronomie": (
        "Restaurant {r}", "Hotel {r} {o}", "Landgasthof {n}", "Café {v}", "Gasthaus {n}",
        "Bistro {v}", "Hotel {n} GmbH", "Biergarten {r}", "Weinstube {n}",
    ),
    "Großkunde": (
        "{n} Garten- und Landschaftsbau GmbH", "GaLaBau {n} GmbH & Co. KG",
        "Wohnungsbaugenossenschaft {o} eG", "Friedhofsgärtnerei {n}",
        "{n} Hausmeisterservice GmbH", "{n} Facility Services GmbH", "Golfclub {o} e.V.",
        "{n} & {n2} Grünpflege GmbH",
    ),
}  # fmt: skip

# Products sold only in some months (1-12); all others are sold all year.
SEASONAL_PRODUCTS: dict[str, tuple[int, ...]] = {
    "Weihnachtsstern rot 12 cm": (11, 12, 1),
    "Adventskranz frisch": (11, 12),
    "Tulpen gemischt 20 Stiele": (1, 2, 3, 4, 5),
    "Pfingstrosen 5 Stiele": (5, 6),
    "Sonnenblumen 5 Stiele": (7, 8, 9),
    "Meisenknödel 30 Stück": (10, 11, 12, 1, 2, 3),
    "Saatkartoffeln 'Linda' 2,5 kg": (2, 3, 4),
    "Frostschutzvlies 2 x 10 m": (9, 10, 11, 12, 1, 2, 3),
    "Hängegeranie 12er-Topf": (4, 5, 6),
    "Balkonpflanzen-Set 10 Stück": (4, 5, 6),
    "Gasflasche 11 kg Füllung": (3, 4, 5, 6, 7, 8, 9, 10),
}

# How much each customer group likes each product group (relative weights).
GROUP_PREFERENCES: dict[str, dict[str, float]] = {
    "Endkunde": {"SA": 3, "DU": 3, "PS": 2, "ER": 3, "GG": 1, "BW": 1, "TP": 3, "SB": 2,
                 "GM": 0.5, "GZ": 1.5, "TB": 3, "WZ": 1},
    "Händler": {"SA": 3, "DU": 3, "PS": 3, "ER": 4, "GG": 1.5, "BW": 1.5, "TP": 3, "SB": 2,
                "GM": 0.5, "GZ": 1, "TB": 2, "WZ": 1.5},
    "Gastronomie": {"SA": 0.3, "DU": 1, "PS": 0.3, "ER": 1, "GG": 0.3, "BW": 0.5, "TP": 4,
                    "SB": 6, "GM": 1, "GZ": 3, "TB": 0.2, "WZ": 0.3},
    "Großkunde": {"SA": 3, "DU": 4, "PS": 3, "ER": 4, "GG": 3, "BW": 3, "TP": 1, "SB": 0.5,
                  "GM": 1, "GZ": 0.3, "TB": 0.2, "WZ": 3},
}  # fmt: skip
