/** The X-VLA policy trains through the shared step over the structural `TrainablePolicy` surface. */
export { type TrainablePolicy, trainStep as trainPolicyStep } from '../train_step.js';
