"""Real cities of every state, district and territory: where local partners sit and incidents
happen."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class City:
    """A real city: where local partners sit and incidents happen."""

    name: str
    county: str | None  # None where no county sheriff serves the city
    latitude: float
    longitude: float
    area_code: str


def _cities(*rows) -> tuple[City, ...]:
    return tuple(City(*row) for row in rows)


CITIES = {
    "AL": _cities(
        ("Birmingham", "Jefferson County", 33.52, -86.80, "205"),
        ("Mobile", "Mobile County", 30.69, -88.04, "251"),
        ("Huntsville", "Madison County", 34.73, -86.59, "256"),
    ),
    "AK": _cities(
        ("Anchorage", None, 61.22, -149.90, "907"), ("Fairbanks", None, 64.84, -147.72, "907")
    ),
    "AZ": _cities(
        ("Phoenix", "Maricopa County", 33.45, -112.07, "602"),
        ("Tucson", "Pima County", 32.22, -110.97, "520"),
    ),
    "AR": _cities(
        ("Little Rock", "Pulaski County", 34.75, -92.29, "501"),
        ("Fort Smith", "Sebastian County", 35.39, -94.40, "479"),
    ),
    "CA": _cities(
        ("Los Angeles", "Los Angeles County", 34.05, -118.24, "213"),
        ("San Francisco", "San Francisco County", 37.77, -122.42, "415"),
        ("San Diego", "San Diego County", 32.72, -117.16, "619"),
        ("Sacramento", "Sacramento County", 38.58, -121.49, "916"),
        ("Fresno", "Fresno County", 36.74, -119.79, "559"),
    ),
    "CO": _cities(
        ("Denver", "Denver County", 39.74, -104.99, "303"),
        ("Colorado Springs", "El Paso County", 38.83, -104.82, "719"),
    ),
    "CT": _cities(
        ("Hartford", None, 41.76, -72.68, "860"), ("New Haven", None, 41.31, -72.92, "203")
    ),
    "DE": _cities(
        ("Wilmington", "New Castle County", 39.74, -75.55, "302"),
        ("Dover", "Kent County", 39.16, -75.52, "302"),
    ),
    "DC": _cities(("Washington", None, 38.90, -77.04, "202")),
    "FL": _cities(
        ("Miami", "Miami-Dade County", 25.76, -80.19, "305"),
        ("Tampa", "Hillsborough County", 27.95, -82.46, "813"),
        ("Jacksonville", "Duval County", 30.33, -81.66, "904"),
        ("Orlando", "Orange County", 28.54, -81.38, "407"),
    ),
    "GA": _cities(
        ("Atlanta", "Fulton County", 33.75, -84.39, "404"),
        ("Savannah", "Chatham County", 32.08, -81.09, "912"),
    ),
    "HI": _cities(("Honolulu", None, 21.31, -157.86, "808"), ("Hilo", None, 19.71, -155.09, "808")),
    "ID": _cities(
        ("Boise", "Ada County", 43.62, -116.20, "208"),
        ("Idaho Falls", "Bonneville County", 43.49, -112.03, "208"),
    ),
    "IL": _cities(
        ("Chicago", "Cook County", 41.88, -87.63, "312"),
        ("Springfield", "Sangamon County", 39.80, -89.64, "217"),
        ("Peoria", "Peoria County", 40.69, -89.59, "309"),
    ),
    "IN": _cities(
        ("Indianapolis", "Marion County", 39.77, -86.16, "317"),
        ("Fort Wayne", "Allen County", 41.08, -85.14, "260"),
    ),
    "IA": _cities(
        ("Des Moines", "Polk County", 41.59, -93.62, "515"),
        ("Cedar Rapids", "Linn County", 41.98, -91.67, "319"),
    ),
    "KS": _cities(
        ("Wichita", "Sedgwick County", 37.69, -97.34, "316"),
        ("Topeka", "Shawnee County", 39.05, -95.68, "785"),
    ),
    "KY": _cities(
        ("Louisville", "Jefferson County", 38.25, -85.76, "502"),
        ("Lexington", "Fayette County", 38.04, -84.50, "859"),
    ),
    "LA": _cities(
        ("New Orleans", "Orleans Parish", 29.95, -90.07, "504"),
        ("Baton Rouge", "East Baton Rouge Parish", 30.45, -91.19, "225"),
    ),
    "ME": _cities(
        ("Portland", "Cumberland County", 43.66, -70.26, "207"),
        ("Bangor", "Penobscot County", 44.80, -68.77, "207"),
    ),
    "MD": _cities(
        ("Baltimore", None, 39.29, -76.61, "410"),
        ("Annapolis", "Anne Arundel County", 38.98, -76.49, "410"),
    ),
    "MA": _cities(
        ("Boston", "Suffolk County", 42.36, -71.06, "617"),
        ("Worcester", "Worcester County", 42.26, -71.80, "508"),
    ),
    "MI": _cities(
        ("Detroit", "Wayne County", 42.33, -83.05, "313"),
        ("Grand Rapids", "Kent County", 42.96, -85.67, "616"),
    ),
    "MN": _cities(
        ("Minneapolis", "Hennepin County", 44.98, -93.27, "612"),
        ("Duluth", "St. Louis County", 46.79, -92.10, "218"),
    ),
    "MS": _cities(
        ("Jackson", "Hinds County", 32.30, -90.18, "601"),
        ("Gulfport", "Harrison County", 30.37, -89.09, "228"),
    ),
    "MO": _cities(
        ("Kansas City", "Jackson County", 39.10, -94.58, "816"),
        ("St. Louis", None, 38.63, -90.20, "314"),
    ),
    "MT": _cities(
        ("Billings", "Yellowstone County", 45.78, -108.50, "406"),
        ("Missoula", "Missoula County", 46.87, -113.99, "406"),
    ),
    "NE": _cities(
        ("Omaha", "Douglas County", 41.26, -95.93, "402"),
        ("Lincoln", "Lancaster County", 40.81, -96.70, "402"),
    ),
    "NV": _cities(
        ("Las Vegas", "Clark County", 36.17, -115.14, "702"),
        ("Reno", "Washoe County", 39.53, -119.81, "775"),
    ),
    "NH": _cities(
        ("Manchester", "Hillsborough County", 42.99, -71.46, "603"),
        ("Concord", "Merrimack County", 43.21, -71.54, "603"),
    ),
    "NJ": _cities(
        ("Newark", "Essex County", 40.74, -74.17, "973"),
        ("Trenton", "Mercer County", 40.22, -74.76, "609"),
    ),
    "NM": _cities(
        ("Albuquerque", "Bernalillo County", 35.08, -106.65, "505"),
        ("Santa Fe", "Santa Fe County", 35.69, -105.94, "505"),
    ),
    "NY": _cities(
        ("New York", None, 40.71, -74.01, "212"),
        ("Buffalo", "Erie County", 42.89, -78.88, "716"),
        ("Albany", "Albany County", 42.65, -73.76, "518"),
    ),
    "NC": _cities(
        ("Charlotte", "Mecklenburg County", 35.23, -80.84, "704"),
        ("Raleigh", "Wake County", 35.78, -78.64, "919"),
    ),
    "ND": _cities(
        ("Fargo", "Cass County", 46.88, -96.79, "701"),
        ("Bismarck", "Burleigh County", 46.81, -100.78, "701"),
    ),
    "OH": _cities(
        ("Columbus", "Franklin County", 39.96, -83.00, "614"),
        ("Cleveland", "Cuyahoga County", 41.50, -81.69, "216"),
        ("Cincinnati", "Hamilton County", 39.10, -84.51, "513"),
    ),
    "OK": _cities(
        ("Oklahoma City", "Oklahoma County", 35.47, -97.52, "405"),
        ("Tulsa", "Tulsa County", 36.15, -95.99, "918"),
    ),
    "OR": _cities(
        ("Portland", "Multnomah County", 45.52, -122.68, "503"),
        ("Eugene", "Lane County", 44.05, -123.09, "541"),
    ),
    "PA": _cities(
        ("Philadelphia", None, 39.95, -75.17, "215"),
        ("Pittsburgh", "Allegheny County", 40.44, -80.00, "412"),
        ("Harrisburg", "Dauphin County", 40.27, -76.88, "717"),
    ),
    "RI": _cities(
        ("Providence", None, 41.82, -71.41, "401"), ("Warwick", None, 41.70, -71.42, "401")
    ),
    "SC": _cities(
        ("Charleston", "Charleston County", 32.78, -79.93, "843"),
        ("Columbia", "Richland County", 34.00, -81.03, "803"),
    ),
    "SD": _cities(
        ("Sioux Falls", "Minnehaha County", 43.54, -96.73, "605"),
        ("Rapid City", "Pennington County", 44.08, -103.23, "605"),
    ),
    "TN": _cities(
        ("Nashville", "Davidson County", 36.16, -86.78, "615"),
        ("Memphis", "Shelby County", 35.15, -90.05, "901"),
        ("Knoxville", "Knox County", 35.96, -83.92, "865"),
    ),
    "TX": _cities(
        ("Houston", "Harris County", 29.76, -95.37, "713"),
        ("Dallas", "Dallas County", 32.78, -96.80, "214"),
        ("San Antonio", "Bexar County", 29.42, -98.49, "210"),
        ("Austin", "Travis County", 30.27, -97.74, "512"),
        ("El Paso", "El Paso County", 31.76, -106.49, "915"),
    ),
    "UT": _cities(
        ("Salt Lake City", "Salt Lake County", 40.76, -111.89, "801"),
        ("Provo", "Utah County", 40.23, -111.66, "801"),
    ),
    "VT": _cities(
        ("Burlington", "Chittenden County", 44.48, -73.21, "802"),
        ("Montpelier", "Washington County", 44.26, -72.58, "802"),
    ),
    "VA": _cities(
        ("Richmond", None, 37.54, -77.44, "804"),
        ("Norfolk", None, 36.85, -76.29, "757"),
        ("Arlington", "Arlington County", 38.88, -77.10, "703"),
    ),
    "WA": _cities(
        ("Seattle", "King County", 47.61, -122.33, "206"),
        ("Spokane", "Spokane County", 47.66, -117.43, "509"),
    ),
    "WV": _cities(
        ("Charleston", "Kanawha County", 38.35, -81.63, "304"),
        ("Huntington", "Cabell County", 38.42, -82.45, "304"),
    ),
    "WI": _cities(
        ("Milwaukee", "Milwaukee County", 43.04, -87.91, "414"),
        ("Madison", "Dane County", 43.07, -89.40, "608"),
    ),
    "WY": _cities(
        ("Cheyenne", "Laramie County", 41.14, -104.82, "307"),
        ("Casper", "Natrona County", 42.87, -106.31, "307"),
    ),
    "PR": _cities(("San Juan", None, 18.47, -66.11, "787"), ("Ponce", None, 18.01, -66.61, "787")),
    "GU": _cities(("Hagatna", None, 13.47, 144.75, "671")),
    "VI": _cities(("Charlotte Amalie", None, 18.34, -64.93, "340")),
    "AS": _cities(("Pago Pago", None, -14.28, -170.70, "684")),
    "MP": _cities(("Saipan", None, 15.18, 145.75, "670")),
}
