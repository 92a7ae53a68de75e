import { lookAtXyaxes, nums } from './mjcf.js';

/**
 * SO-101-sized 5-DoF arm + parallel gripper built from primitives. Link lengths follow the SO-101
 * (shared/research/lerobot-so101-openpi.md §3: upper arm 0.116 m, forearm 0.135 m, joint ranges of the
 * menagerie model); the wrist-to-fingertip length is shortened (0.11 m vs 0.16 m) so a top-down grasp
 * reaches 0.10–0.24 m in front of the base. Dynamics settings are the ones the feasibility study found
 * robust for friction grasps (shared/research/mujoco-wasm-sim.md §1).
 *
 * One deliberate deviation: wrist_flex reaches +2.2 rad (126°) instead of the real +1.658 rad (95°).
 * With the forearm rising toward the wrist (targets close to the base), a straight-down gripper needs
 * more than 95° of wrist flex; the real arm would grasp tilted instead. Top-down grasps keep the
 * experts and the IK simple.
 */
export const ARM_JOINTS = [
  'shoulder_pan',
  'shoulder_lift',
  'elbow_flex',
  'wrist_flex',
  'wrist_roll',
] as const;
export const STATE_NAMES = [...ARM_JOINTS, 'gripper'] as const;

/** Per-finger opening (m) when the gripper is fully open; the full opening is twice this (5 cm). */
export const FINGER_OPEN = 0.025;
/** Gripper command for "closed": 1 cm past touching, so the position actuator squeezes the object. */
export const FINGER_SQUEEZE = -0.01;

export const GRIP_SITE = 'grip';
export const FRONT_CAMERA = 'front';
export const WRIST_CAMERA = 'wrist_cam';
export const FINGER_GEOMS = ['finger_left', 'finger_right'] as const;

const ARM_RGBA = '0.95 0.55 0.15 1';
const DARK_RGBA = '0.2 0.2 0.22 1';

export function armXml(): string {
  return `
    <body name="base" pos="0 0 0">
      <geom name="base" type="cylinder" size="0.04 0.025" pos="0 0 0.025" rgba="${DARK_RGBA}"/>
      <body name="shoulder" pos="0 0 0.05" gravcomp="1">
        <joint name="shoulder_pan" axis="0 0 1" range="-1.91986 1.91986"/>
        <geom name="shoulder" type="box" size="0.022 0.024 0.0225" pos="0 0 0.0225" rgba="${ARM_RGBA}"/>
        <body name="upper_arm" pos="0 0 0.045" gravcomp="1">
          <joint name="shoulder_lift" axis="0 1 0" range="-1.74533 1.74533"/>
          <geom name="upper_arm" type="capsule" fromto="0 0 0 0 0 0.116" size="0.016" rgba="${ARM_RGBA}"/>
          <body name="lower_arm" pos="0 0 0.116" gravcomp="1">
            <joint name="elbow_flex" axis="0 1 0" range="-1.69 1.69"/>
            <geom name="lower_arm" type="capsule" fromto="0 0 0 0.135 0 0" size="0.014" rgba="${ARM_RGBA}"/>
            <body name="wrist" pos="0.135 0 0" gravcomp="1">
              <joint name="wrist_flex" axis="0 1 0" range="-1.65806 2.2" armature="0.002"/>
              <geom name="wrist" type="capsule" fromto="0 0 0 0.026 0 0" size="0.012" rgba="${ARM_RGBA}"/>
              <body name="gripper" pos="0.03 0 0" gravcomp="1">
                <joint name="wrist_roll" axis="1 0 0" range="-2.74385 2.74385" armature="0.002"/>
                <geom name="palm" type="box" size="0.012 0.036 0.014" pos="0.012 0 0" rgba="${DARK_RGBA}"/>
                <site name="${GRIP_SITE}" pos="0.074 0 0" size="0.004"/>
                <camera name="${WRIST_CAMERA}" pos="0.0 0 0.045" xyaxes="${lookAtXyaxes([0, 0, 0.045], [0.11, 0, -0.004], [1, 0, 0.3])}" fovy="75"/>
                <body name="finger_left" pos="0.024 0 0" gravcomp="1">
                  <joint name="finger_left" type="slide" axis="0 1 0" range="0 ${FINGER_OPEN}" damping="1" armature="0.001"/>
                  <geom name="finger_left" type="box" size="0.03 0.005 0.01" pos="0.03 0.005 0" friction="1.5 0.005 0.0001" condim="4" rgba="${DARK_RGBA}"/>
                </body>
                <body name="finger_right" pos="0.024 0 0" gravcomp="1">
                  <joint name="finger_right" type="slide" axis="0 -1 0" range="0 ${FINGER_OPEN}" damping="1" armature="0.001"/>
                  <geom name="finger_right" type="box" size="0.03 0.005 0.01" pos="0.03 -0.005 0" friction="1.5 0.005 0.0001" condim="4" rgba="${DARK_RGBA}"/>
                </body>
              </body>
            </body>
          </body>
        </body>
      </body>
    </body>`;
}

export function armActuatorsXml(): string {
  return `
    <position name="shoulder_pan" joint="shoulder_pan" kp="30" kv="1" forcerange="-4 4" ctrlrange="-1.91986 1.91986"/>
    <position name="shoulder_lift" joint="shoulder_lift" kp="30" kv="1" forcerange="-4 4" ctrlrange="-1.74533 1.74533"/>
    <position name="elbow_flex" joint="elbow_flex" kp="30" kv="1" forcerange="-4 4" ctrlrange="-1.69 1.69"/>
    <position name="wrist_flex" joint="wrist_flex" kp="20" kv="0.5" forcerange="-3 3" ctrlrange="-1.65806 2.2"/>
    <position name="wrist_roll" joint="wrist_roll" kp="10" kv="0.3" forcerange="-2 2" ctrlrange="-2.74385 2.74385"/>
    <position name="gripper" joint="finger_left" kp="150" kv="5" forcerange="-6 6" ctrlrange="${nums(FINGER_SQUEEZE, FINGER_OPEN)}"/>`;
}

export interface SceneParts {
  /** Bodies/geoms appended to `<worldbody>`. */
  worldbody: string;
  /** Extra `<contact>` children (excludes). */
  contact?: string;
}

/** Assembles the full MJCF: options, table, cameras, arm, and the task's bodies. */
export function sceneXml(name: string, task: SceneParts, timestep = 0.004): string {
  const front = [0.44, 0.0, 0.3] as [number, number, number];
  return `<mujoco model="${name}">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="${nums(timestep)}" integrator="implicitfast" cone="elliptic" impratio="10"/>
  <size memory="4M"/>
  <default>
    <joint damping="0.1" armature="0.005"/>
    <geom friction="1 0.005 0.0001"/>
  </default>
  <worldbody>
    <geom name="table" type="plane" size="0.45 0.45 0.01" rgba="0.78 0.74 0.68 1"/>
    <camera name="${FRONT_CAMERA}" pos="${nums(...front)}" xyaxes="${lookAtXyaxes(front, [0.08, 0.0, 0.09])}" fovy="52"/>
${armXml()}
${task.worldbody}
  </worldbody>
  <contact>
    <exclude body1="finger_left" body2="finger_right"/>
    <exclude body1="base" body2="upper_arm"/>
${task.contact ?? ''}
  </contact>
  <equality>
    <joint joint1="finger_right" joint2="finger_left" solref="0.005 1"/>
  </equality>
  <actuator>${armActuatorsXml()}
  </actuator>
</mujoco>
`;
}
