"""Physical constants, each with its source."""

# Lunar gravitational parameter, m^3/s^2 (NASA Moon fact sheet: 4902.8 km^3/s^2).
MOON_MU_M3PS2 = 4.9028e12
# Lunar mean radius, m (NASA Moon fact sheet: 1737.4 km).
MOON_RADIUS_M = 1.7374e6
# Standard gravity used in the definition of specific impulse, m/s^2 (exact, by definition).
G0_MPS2 = 9.80665
