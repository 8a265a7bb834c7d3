/** Made-up Chinese names and report texts, assembled from fixed phrases by the seeded generator. */
import type { Category } from '../../src/modules/clues/clue.entity.ts';
import type { Rng } from './random.ts';

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '高', '林', '罗', '郑', '梁', '谢', '宋', '唐', '许', '韩', '冯', '邓', '曹'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀英', '霞', '平', '刚', '桂英', '建华', '国强', '志明', '海燕', '红梅', '建国', '德华', '文'];

export function personName(rng: Rng): string {
  return rng.pick(SURNAMES) + rng.pick(GIVEN) + (rng.chance(0.4) ? rng.pick(GIVEN).slice(0, 1) : '');
}

export const POSITIONS: Record<string, string[]> = {
  official: ['街道民政科科长', '镇社会事务办主任', '区民政局科员'],
  caseworker: ['低保经办人员', '社会救助经办人', '社区事务受理服务中心工作人员'],
  cadre: ['居委会主任', '村委会主任', '村党支部书记', '居委会委员'],
  beneficiary: ['低保对象', '特困供养人员'],
  other: ['社区救助顾问', '物业工作人员'],
};

const ALLEGATIONS: Record<Category, string[]> = {
  favor_enrolment: ['其亲戚家庭条件较好却被纳入低保', '利用职务之便为熟人办理低保'],
  connection_enrolment: ['通过关系让不符合条件的家庭享受低保', '托人说情后即获批低保'],
  stability_enrolment: ['因多次上访而被照顾纳入低保', '为平息信访将其纳入低保'],
  policy_stretch_enrolment: ['放宽标准为其办理低保', '收入超标仍被认定为低保对象'],
  wrongful_enrolment: ['家中有车有房仍领取低保', '家庭成员有稳定工作仍享受低保'],
  missed_enrolment: ['家庭困难多次申请低保未获受理', '符合条件却一直未被纳入低保'],
  single_instead_of_household: ['以单人保代替整户保', '只为一名家庭成员办理低保'],
  embezzlement: ['侵占低保对象的救助金', '挪用低保资金'],
  false_claim: ['虚报家庭人口冒领低保金', '已去世人员仍在领取低保金'],
  withholding_funds: ['截留低保对象的补助款', '私分救助资金'],
  extortion: ['办理低保时索要好处费', '吃拿卡要、刁难申请人'],
  favouring_relatives: ['优先为自己的亲属办理低保', '优亲厚友，亲属均享受低保'],
  obstruction_or_inaction: ['推诿申请，长期不予办理', '对群众反映的问题不作为'],
  payment_irregularity: ['低保金打入他人账户', '同一账户频繁收到大额救助款'],
  card_custody_abuse: ['代管低保对象的存折和银行卡', '长期保管他人低保卡'],
  hotline_unanswered: ['投诉电话多次拨打无人接听', '热线电话打不通'],
  other: ['有关低保的其他问题', '低保审批程序不规范'],
};

const OPENINGS = ['我要反映一个情况：', '本人实名举报：', '匿名反映：', '群众反映，', '据了解，'];
const DETAILS = [
  '此事在小区里已经传开了，很多居民都有意见。',
  '已经持续了两年多，之前向社区反映过，没有结果。',
  '希望有关部门认真核查，给群众一个交代。',
  '相关人员平时开着小汽车，经常外出旅游。',
  '我手里有照片和转账记录可以提供。',
  '邻居们都知道，但是怕被报复不敢说。',
  '请不要透露我的身份。',
  '每月领取的金额大约一千多元。',
];

/** A report text of one to a few sentences about `who` in `place`. */
export function narrative(rng: Rng, categories: readonly Category[], who: string | null, place: string): string {
  let text = rng.pick(OPENINGS) + place + (who ? `的${who}` : '有人');
  for (const c of categories) text += `${rng.pick(ALLEGATIONS[c])}，`;
  text = `${text.slice(0, -1)}。`;
  for (let i = rng.int(0, 4); i > 0; i--) text += rng.pick(DETAILS);
  return text;
}

export const OCCURRED = ['去年冬天', '今年春节前后', '近半年来', '2025年3月', '从前年开始', '上个月'];
