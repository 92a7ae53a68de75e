/** Feetech STS/SMS (protocol 0, little-endian) control table entries used here: [address, bytes]. */

export const STS = {
  Model_Number: [3, 2],
  ID: [5, 1],
  Baud_Rate: [6, 1],
  Return_Delay_Time: [7, 1],
  Min_Position_Limit: [9, 2],
  Max_Position_Limit: [11, 2],
  Max_Torque_Limit: [16, 2],
  P_Coefficient: [21, 1],
  D_Coefficient: [22, 1],
  I_Coefficient: [23, 1],
  Protection_Current: [28, 2],
  Homing_Offset: [31, 2],
  Operating_Mode: [33, 1],
  Overload_Torque: [36, 1],
  Torque_Enable: [40, 1],
  Acceleration: [41, 1],
  Goal_Position: [42, 2],
  Lock: [55, 1],
  Present_Position: [56, 2],
  Present_Velocity: [58, 2],
  Present_Load: [60, 2],
  Moving: [66, 1],
  Maximum_Acceleration: [85, 1],
} as const satisfies Record<string, readonly [number, number]>;

export type StsRegister = keyof typeof STS;

/** Model number reported by an STS3215. */
export const STS3215_MODEL = 777;
/** Ticks per revolution. */
export const STS3215_RESOLUTION = 4096;

/** Sign bit of sign-magnitude registers (others are unsigned). */
export const SIGN_BIT: Partial<Record<StsRegister, number>> = {
  Homing_Offset: 11,
  Goal_Position: 15,
  Present_Position: 15,
  Present_Velocity: 15,
  Present_Load: 10,
};

export function encodeSignMagnitude(value: number, signBit: number): number {
  const max = (1 << signBit) - 1;
  const mag = Math.abs(Math.trunc(value));
  if (mag > max)
    throw new RangeError(`value ${value} exceeds sign-magnitude range ±${max} (sign bit ${signBit})`);
  return value < 0 ? mag | (1 << signBit) : mag;
}

export function decodeSignMagnitude(raw: number, signBit: number): number {
  const mag = raw & ((1 << signBit) - 1);
  return raw & (1 << signBit) ? -mag : mag;
}
